package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"context"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

// processTraces migrates the messaging spans of td in place. Spans with no messaging.* attribute,
// and messaging spans that are already current, are not written to.
func (p *semconvProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var migrated int64
	var scratch pcommon.Value // made on the first migrated span: untouched batches allocate nothing
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			n := 0
			for k := 0; k < spans.Len(); k++ {
				if p.migrateSpan(spans.At(k), &scratch) {
					n++
				}
			}
			if n > 0 {
				ss.SetSchemaUrl(p.schemaURL)
				migrated += int64(n)
			}
		}
	}
	if migrated > 0 {
		p.telemetry.ProcessorSemconvSpansMigrated.Add(ctx, migrated)
	}
	return td, nil
}

// migrateSpan rewrites one span if it carries old messaging conventions and reports whether it
// did. A messaging span is current when it has messaging.operation.name (required since 1.26)
// and no deprecated messaging attribute or value.
func (p *semconvProcessor) migrateSpan(span ptrace.Span, scratch *pcommon.Value) bool {
	attrs := span.Attributes()
	old, messaging, opName := p.needsMigration(attrs, renames.Spans)
	if !old && (!messaging || opName) {
		return false
	}
	p.renameAttributes(attrs, renames.Spans, p.duplicate, scratchValue(scratch))

	nameDest, nameOp, oldName := p.oldSpanName(span.Name())
	op := str(attrs, keyOperationType)
	if op == "" {
		op = nameOp
		if op == "" {
			op = operationFromKind(span.Kind())
		}
		if op != "" {
			attrs.PutStr(keyOperationType, op)
		}
	}
	if !has(attrs, keyOperationName) && op != "" {
		attrs.PutStr(keyOperationName, op)
	}

	if str(attrs, keySystem) == systemRabbitMQ {
		p.migrateRabbitMQDestination(attrs, nameDest)
	} else if oldName && nameDest != "" && !has(attrs, keyDestinationName) && !has(attrs, keyDestinationTemplate) {
		attrs.PutStr(keyDestinationName, nameDest)
	}

	if oldName {
		opName := str(attrs, keyOperationName)
		if dest := spanDestination(attrs); dest != "" {
			span.SetName(opName + " " + dest)
		} else {
			span.SetName(opName)
		}
	}

	if span.Status().Code() == ptrace.StatusCodeError && !has(attrs, keyErrorType) {
		attrs.PutStr(keyErrorType, exceptionType(span.Events()))
	}
	return true
}

// scratchValue returns *v, made empty on first use.
func scratchValue(v *pcommon.Value) pcommon.Value {
	if *v == (pcommon.Value{}) {
		*v = pcommon.NewValueEmpty()
	}
	return *v
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

// migrateRabbitMQDestination turns the old RabbitMQ destination (the exchange name, "" for the
// default exchange, plus messaging.rabbitmq.destination.routing_key) into the 1.44 form
// "{exchange}:{routing key}". Without the exchange attribute, FastStream's span-name destination
// "<exchange|default>.<routing_key>" supplies it.
func (p *semconvProcessor) migrateRabbitMQDestination(attrs pcommon.Map, nameDest string) {
	routingKey := str(attrs, keyRoutingKey)
	var exchange string
	if v, ok := attrs.Get(keyDestinationName); ok {
		if v.Type() != pcommon.ValueTypeStr {
			return
		}
		exchange = v.Str()
		if routingKey != "" && strings.HasSuffix(exchange, ":"+routingKey) {
			return // already "{exchange}:{routing key}"
		}
	} else {
		if nameDest == "" {
			return
		}
		e, ok := fastStreamRabbitMQExchange(nameDest, routingKey)
		if !ok {
			attrs.PutStr(keyDestinationName, nameDest)
			return
		}
		exchange = e
	}
	attrs.PutStr(keyDestinationName, rabbitMQDestination(exchange, routingKey))
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
	return errorTypeOther
}
