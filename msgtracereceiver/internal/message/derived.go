package message

import (
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Derived is where a source sends what it derives beyond its deliveries:
// the settle spans and consumer metrics of package consumers. The receiver
// fills it; a zero Derived (tests, a source built without it) drops them.
type Derived struct {
	// Traces receives settle spans; nil drops them.
	Traces consumer.Traces
	// Metrics receives consumer metrics; nil drops them (no metrics
	// pipeline uses the receiver).
	Metrics consumer.Metrics
	// Creation tells the creation context a message's spans refer to, the
	// same one its receive span has; nil: the traceparent alone decides.
	Creation func(m *Message) Creation
	// ServiceName, ScopeName and ScopeVersion name the resource and scope
	// of derived spans and metrics, as for the receive spans.
	ServiceName, ScopeName, ScopeVersion string
}

// Creation is the creation context of a message: its producer's span
// (traceparent) or the rebuilt `send` span.
type Creation struct {
	TraceID pcommon.TraceID
	// SpanID is empty when the message has no creation span (no
	// traceparent and spans.rebuild: never).
	SpanID pcommon.SpanID
	// Remote: the context came from the wire (traceparent), not rebuilt.
	Remote bool
	// Keep is false when the message yields no spans (sampled=0, or its
	// rebuilt trace is sampled out): derived spans follow that decision.
	Keep bool
}
