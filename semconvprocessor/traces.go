package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"context"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

// processTraces migrates the messaging spans of td in place. Spans with no messaging.* attribute,
// and messaging spans that are already current, are not written to.
func (p *semconvProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var migrated int64
	var work workspace
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			d := dialectOf(ss.Scope().Name())
			var n, others int
			for k := 0; k < spans.Len(); k++ {
				switch p.migrateSpan(spans.At(k), d, &work) {
				case spanMigrated:
					n++
				case spanNotMessaging:
					others++
				}
			}
			if n > 0 && others == 0 {
				ss.SetSchemaUrl(p.schemaURL)
			}
			migrated += int64(n)
		}
	}
	if migrated > 0 {
		p.telemetry.ProcessorSemconvSpansMigrated.Add(ctx, migrated)
	}
	return td, nil
}

// spanResult is what migrateSpan did with a span. A scope takes the 1.44 schema URL when some of
// its spans were migrated and all the others were current: a span the processor does not migrate
// (not messaging) may follow the scope's old schema in its other conventions.
type spanResult int

const (
	spanNotMessaging spanResult = iota
	spanCurrent
	spanMigrated
)

// migrateSpan rewrites one span if it carries old messaging conventions. A messaging span is
// current when it has messaging.operation.name (required since 1.26), no deprecated messaging
// attribute or value, no attribute semconv removed (unless removed_attributes: keep), and a name
// that is not an old form disagreeing with its attributes. d names the instrumentation when its
// old form needs reading of its own.
func (p *semconvProcessor) migrateSpan(span ptrace.Span, d dialect, work *workspace) spanResult {
	attrs := span.Attributes()
	var buf scanBuffers
	var fs facts
	sc := p.scanAttributes(attrs, renames.Spans, &buf, &fs)
	if !sc.messaging {
		return spanNotMessaging
	}
	if !sc.old() && fs.present[factOpName] {
		return p.renameCurrentSpan(span, &fs)
	}
	p.applyRenames(attrs, &sc, &fs, p.duplicate, work)
	f := p.spanFacts(&fs, sc.oldValue)

	// The old name is read only for what the attributes lack: the operation, the destination.
	nameDest, nameOp, oldName := p.oldSpanName(span.Name())
	op := f.opType
	if !f.hasOpType {
		op = nameOp
		if op == "" {
			op = operationFromKind(span.Kind())
		}
	}
	failed := span.Status().Code() == ptrace.StatusCodeError && !sc.hasErrorType
	fillDest := f.system != systemRabbitMQ && nameDest != "" && !f.hasDestName && f.template == ""
	oldRabbitMQ := f.system == systemRabbitMQ && !f.hasOpName && (sc.old() || oldName)
	var splitRoutingKey string
	if oldRabbitMQ && d == dialectAIOPika {
		splitRoutingKey = f.splitAIOPikaDestination()
	}
	attrs.EnsureCapacity(attrs.Len() + count(!f.hasOpType && op != "", !f.hasOpName && op != "", failed, fillDest, splitRoutingKey != ""))

	if !f.hasOpType && op != "" {
		attrs.PutStr(keyOperationType, op)
	}
	if !f.hasOpName && op != "" {
		attrs.PutStr(keyOperationName, op)
		f.opName = op
	}
	// Only old-convention spans have the old RabbitMQ destination: not a span that had
	// messaging.operation.name (1.26 and later, or migrated in duplicate mode, where the old keys
	// bring it back here), nor one that is here just for lack of messaging.operation.name.
	if oldRabbitMQ {
		if splitRoutingKey != "" {
			attrs.PutStr(keyRoutingKey, splitRoutingKey)
		}
		if dest, ok := rabbitMQDestination(f, nameDest); ok {
			attrs.PutStr(keyDestinationName, dest)
			f.destName = dest
		}
	} else if fillDest {
		attrs.PutStr(keyDestinationName, nameDest)
		f.destName = nameDest
	}
	// The 1.44 name follows from the attributes whenever they name the operation, whatever the
	// old name was: "{messaging.operation.name} {destination}".
	opName := f.opName
	if opName == "" { // messaging.operation.name set, but not a string
		opName = op
	}
	if opName != "" {
		setSpanName(span, opName, f.spanDestination())
	}
	if failed {
		attrs.PutStr(keyErrorType, exceptionType(span.Events()))
	}
	return spanMigrated
}

// renameCurrentSpan gives a span with current attributes the 1.44 name when its name is an old
// form that disagrees with them (an instrumentation that moved its attributes to 1.26 but kept
// "publish orders"). Any other name is the application's choice and stays.
func (p *semconvProcessor) renameCurrentSpan(span ptrace.Span, fs *facts) spanResult {
	opName := fs.str[factOpName]
	dest := destinationOf(fs.str[factTemplate], fs.str[factDestName], fs.boolean[factTemporary] || fs.boolean[factAnonymous])
	if opName == "" || nameAgrees(span.Name(), opName, dest) {
		return spanCurrent
	}
	if _, _, old := p.oldSpanName(span.Name()); !old {
		return spanCurrent
	}
	setSpanName(span, opName, dest)
	return spanMigrated
}

func setSpanName(span ptrace.Span, opName, dest string) {
	if nameAgrees(span.Name(), opName, dest) {
		return
	}
	if dest == "" {
		span.SetName(opName)
		return
	}
	span.SetName(opName + " " + dest)
}

// spanFacts are the attributes migrateSpan reads, as they are after the renames.
type spanFacts struct {
	system, opType, opName, destName, template, routingKey string
	hasOpType, hasOpName, hasDestName, destNotStr          bool
	temporary, anonymous                                   bool
}

// spanFacts resolves the facts of a span as they are after the renames. oldValue says
// messaging.operation.type had a deprecated value before them.
func (p *semconvProcessor) spanFacts(f *facts, oldValue bool) spanFacts {
	sf := spanFacts{
		system:      f.str[factSystem],
		opType:      f.str[factOpType],
		opName:      f.str[factOpName],
		destName:    f.str[factDestName],
		template:    f.str[factTemplate],
		routingKey:  f.str[factRoutingKey],
		hasOpType:   f.has(factOpType),
		hasOpName:   f.has(factOpName),
		hasDestName: f.has(factDestName),
		destNotStr:  f.has(factDestName) && !f.isStr[factDestName],
		temporary:   f.boolean[factTemporary],
		anonymous:   f.boolean[factAnonymous],
	}
	if oldValue || f.renamed[factOpType] {
		if to, deprecated := p.idx.OperationValue(sf.opType); deprecated {
			sf.opType = to
		}
	}
	return sf
}

// spanDestination is the {destination} of a 1.44 span name (see destinationOf).
func (f *spanFacts) spanDestination() string {
	return destinationOf(f.template, f.destName, f.temporary || f.anonymous)
}

// destinationOf is the {destination} of a 1.44 span name: messaging.destination.template when
// set, else messaging.destination.name unless the destination is temporary or anonymous.
func destinationOf(template, name string, temporaryOrAnonymous bool) string {
	switch {
	case template != "":
		return template
	case temporaryOrAnonymous:
		return ""
	default:
		return name
	}
}

func count(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}

// operationFromKind guesses the operation of a span that names none, neither in its attributes
// nor in its name: a PRODUCER sends, a CONSUMER processes. Other kinds stay without one.
func operationFromKind(kind ptrace.SpanKind) string {
	switch kind {
	case ptrace.SpanKindProducer:
		return "send"
	case ptrace.SpanKindConsumer:
		return "process"
	default:
		return ""
	}
}

// rabbitMQDestination returns the 1.44 messaging.destination.name of an old RabbitMQ span, whose
// destination is the exchange name ("" or the Java agent's "<default>" for the default exchange) next to
// messaging.rabbitmq.destination.routing_key: "{exchange}:{routing key}" (see
// rabbitMQDestinationName). Without the exchange attribute, FastStream's span-name destination
// "<exchange|default>.<routing_key>" supplies it. ok is false when nothing is to change.
func rabbitMQDestination(f spanFacts, nameDest string) (string, bool) {
	exchange := f.destName
	switch {
	case f.destNotStr:
		return "", false
	case f.hasDestName:
		if f.routingKey != "" && strings.HasSuffix(exchange, ":"+f.routingKey) {
			return "", false // already "{exchange}:{routing key}"
		}
		if exchange == javaAgentDefaultExchange {
			exchange = "" // the Java agent's name for the default exchange
		}
	case nameDest == "":
		return "", false
	default:
		// FastStream's "<exchange|default>.<routing_key>", else the name holds the exchange.
		exchange = nameDest
		if e, ok := fastStreamRabbitMQExchange(nameDest, f.routingKey); ok {
			exchange = e
		}
	}
	return rabbitMQDestinationName(exchange, f.routingKey), true
}

// exceptionType is the exception.type of the last exception event, the error.type of a failed
// span; "_OTHER" when no event names one.
func exceptionType(events ptrace.SpanEventSlice) string {
	for i := events.Len() - 1; i >= 0; i-- {
		e := events.At(i)
		if e.Name() != eventException {
			continue
		}
		if t := str(e.Attributes(), keyExceptionType); t != "" {
			return t
		}
	}
	return semconv.ErrorTypeOther.Value.AsString()
}
