package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import "strings"

// dialect is an instrumentation whose old spans hold a value in a form of its own, known by its
// scope name. Only forms no other instrumentation writes are read this way.
type dialect int

const (
	dialectNone dialect = iota
	// dialectAIOPika: opentelemetry-instrumentation-aio-pika (0.32b0 and later,
	// publish_decorator.py) writes a publish span's messaging.destination as
	// "{exchange},{routing key}", "," plus the routing key on the default exchange.
	dialectAIOPika
)

const scopeAIOPika = "opentelemetry.instrumentation.aio_pika"

func dialectOf(scope string) dialect {
	if scope == scopeAIOPika {
		return dialectAIOPika
	}
	return dialectNone
}

// splitAIOPikaDestination splits aio-pika's "{exchange},{routing key}" destination into the
// exchange and routing key of f, for the 1.44 "{exchange}:{routing key}" destination. AMQP 0-9-1
// exchange names have no comma (letters, digits, '-', '_', '.', ':'), so the first one separates
// the two. It returns the routing key to record, "" when there is none or nothing was split: a
// span that already names its routing key, or whose destination has no comma (the consume
// spans), is left to the general rule.
func (f *spanFacts) splitAIOPikaDestination() string {
	if !f.hasDestName || f.destNotStr || f.routingKey != "" {
		return ""
	}
	exchange, routingKey, ok := strings.Cut(f.destName, ",")
	if !ok {
		return ""
	}
	f.destName, f.routingKey = exchange, routingKey
	return routingKey
}
