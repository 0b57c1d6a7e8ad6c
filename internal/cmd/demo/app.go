package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
)

// What FastStream's KafkaTelemetryMiddleware emits (see
// shared/docs/faststream-telemetry.md): its tracer, the 1.11 schema, and the
// attribute names of that era, which the gateway's semconv processor migrates.
const (
	faststreamScope     = "opentelemetry.instrumentation.faststream"
	faststreamSchemaURL = "https://opentelemetry.io/schemas/1.11.0"

	attrSystem          = "messaging.system"
	attrDestination     = "messaging.destination.name"
	attrDestPublishName = "messaging.destination_publish.name"
	attrOperation       = "messaging.operation"
	attrMessageID       = "messaging.message.id"
	attrConversationID  = "messaging.message.conversation_id"
	attrPayloadSize     = "messaging.message.payload_size_bytes"
	attrBatchCount      = "messaging.batch.message_count"
	attrKafkaPartition  = "messaging.kafka.destination.partition"
	attrKafkaOffset     = "messaging.kafka.message.offset"

	// FastStream marks a batch publish with this baggage entry.
	withBatchBaggage = "with_batch=True"
)

// spanContext is the part of a span another span or a header refers to.
type spanContext struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
}

func (c spanContext) traceparent() string {
	return traceparent.Format(traceparent.Context{TraceID: c.traceID, SpanID: c.spanID, Flags: 1})
}

// app plays a FastStream service on Kafka with KafkaTelemetryMiddleware: it
// publishes and consumes with FastStream's headers and records the spans the
// middleware would, in the order and with the parents FastStream gives them.
// Its spans are exported over OTLP at the end, as the Python SDK's batch
// exporter would.
type app struct {
	kafka *harness.Kafka
	td    ptrace.Traces
	spans ptrace.SpanSlice
}

func newApp(kafka *harness.Kafka, serviceName string) *app {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", serviceName)
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "python")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.SetSchemaUrl(faststreamSchemaURL)
	ss.Scope().SetName(faststreamScope)
	return &app{kafka: kafka, td: td, spans: ss.Spans()}
}

// startSpan records a span; a zero parent makes it a root of a new trace.
func (a *app) startSpan(name string, kind ptrace.SpanKind, parent spanContext, start time.Time) (ptrace.Span, spanContext) {
	sc := spanContext{traceID: parent.traceID, spanID: newSpanID()}
	if parent.traceID.IsEmpty() {
		sc.traceID = newTraceID()
	}
	span := a.spans.AppendEmpty()
	span.SetName(name)
	span.SetKind(kind)
	span.SetTraceID(sc.traceID)
	span.SetSpanID(sc.spanID)
	span.SetParentSpanID(parent.spanID)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start))
	return span, sc
}

// handler is the state FastStream keeps while a subscriber runs: the process
// span (parent of what the handler publishes) and the incoming context (what
// the handler's publishes put in their traceparent header).
type handler struct {
	process ptrace.Span
	self    spanContext
	origin  spanContext
	corrID  string
	baggage string
}

// publishing is a publish whose messages are built but not yet written.
type publishing struct {
	span    ptrace.Span
	records []*kgo.Record
}

// publish is FastStream's publish_scope: outside a handler a "<d> create"
// PRODUCER span, ended at once, whose context goes into the headers, and a
// "<d> publish" child; inside one only "<d> publish", a child of the process
// span, while the header carries the handler's incoming context. More than
// one body is a batch publish: every message gets the same headers and the
// with_batch baggage entry.
func (a *app) publish(ctx context.Context, in *handler, topic string, partition int32, correlationID, baggage string, bodies ...[]byte) error {
	return a.send(ctx, a.prepare(in, topic, partition, correlationID, baggage, bodies...))
}

// prepare starts a publish's spans and builds its records.
func (a *app) prepare(in *handler, topic string, partition int32, correlationID, baggage string, bodies ...[]byte) publishing {
	if len(bodies) > 1 {
		baggage = joinBaggage(baggage, withBatchBaggage)
	}
	span, header := a.publishScope(in, topic, func(m pcommon.Map) {
		m.PutStr(attrSystem, "kafka")
		m.PutStr(attrDestination, topic)
		m.PutStr(attrConversationID, correlationID)
		m.PutInt(attrKafkaPartition, int64(partition))
		if len(bodies) > 1 {
			m.PutInt(attrBatchCount, int64(len(bodies)))
		}
	})

	records := make([]*kgo.Record, len(bodies))
	for i, body := range bodies {
		headers := []kgo.RecordHeader{
			harness.Header("content-type", "text/plain"),
			harness.Header("correlation_id", correlationID),
			harness.Header("message_id", newMessageID()),
			harness.Header("traceparent", header.traceparent()),
		}
		if baggage != "" {
			headers = append(headers, harness.Header("baggage", baggage))
		}
		records[i] = &kgo.Record{Topic: topic, Partition: partition, Value: body, Headers: headers}
	}
	return publishing{span: span, records: records}
}

// publishScope starts FastStream's publish_scope spans for a publish to
// dest (the destination as FastStream writes it in span names): outside a
// handler (in == nil) a "<dest> create" PRODUCER root, ended at once, and a
// "<dest> publish" child; inside one only "<dest> publish", a child of the
// process span. It returns the publish span, for endPublish, and the context
// the messages carry in their traceparent header. attrs sets the system's
// attributes on both spans.
func (a *app) publishScope(in *handler, dest string, attrs func(pcommon.Map)) (ptrace.Span, spanContext) {
	now := time.Now()
	var parent, header spanContext
	if in != nil {
		parent, header = in.self, in.origin
	} else {
		create, sc := a.startSpan(dest+" create", ptrace.SpanKindProducer, spanContext{}, now)
		attrs(create.Attributes())
		parent, header = sc, sc
	}
	span, _ := a.startSpan(dest+" publish", ptrace.SpanKindProducer, parent, now)
	attrs(span.Attributes())
	span.Attributes().PutStr(attrOperation, "publish")
	return span, header
}

// send writes the records of concurrent publishes (asyncio.gather in the
// application) together and ends their publish spans.
func (a *app) send(ctx context.Context, pubs ...publishing) error {
	var records []*kgo.Record
	for _, p := range pubs {
		records = append(records, p.records...)
	}
	err := a.kafka.Produce(ctx, records...)
	end := time.Now()
	for _, p := range pubs {
		endPublish(p.span, end, err)
	}
	return err
}

// endPublish ends a publish span when the broker answered, as an error
// when it refused the messages.
func endPublish(span ptrace.Span, end time.Time, err error) {
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	if err != nil {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(err.Error())
	}
}

// consume is FastStream's consume_scope for one message: the "<d> process"
// CONSUMER span is a child of the traceparent header's context, or of a
// zero-length "<d> create" CONSUMER root when the header is missing.
func (a *app) consume(rec *kgo.Record) *handler {
	now := time.Now()
	h := &handler{corrID: header(rec, "correlation_id"), baggage: header(rec, "baggage")}
	attrs := func(span ptrace.Span) {
		m := span.Attributes()
		m.PutStr(attrSystem, "kafka")
		m.PutStr(attrMessageID, fmt.Sprintf("%d-%d", rec.Offset, rec.Timestamp.UnixMilli()))
		m.PutStr(attrConversationID, h.corrID)
		m.PutInt(attrPayloadSize, int64(len(rec.Value)))
		m.PutInt(attrKafkaPartition, int64(rec.Partition))
		m.PutInt(attrKafkaOffset, rec.Offset)
		m.PutStr(attrDestPublishName, rec.Topic)
	}
	if tp, err := traceparent.Parse(header(rec, "traceparent")); err == nil && tp.IsValid() {
		h.origin = spanContext{traceID: tp.TraceID, spanID: tp.SpanID}
	} else {
		create, sc := a.startSpan(rec.Topic+" create", ptrace.SpanKindConsumer, spanContext{}, now)
		attrs(create)
		h.origin = sc
	}
	h.process, h.self = a.startSpan(rec.Topic+" process", ptrace.SpanKindConsumer, h.origin, now)
	attrs(h.process)
	h.process.Attributes().PutStr(attrOperation, "process")
	return h
}

// consumeBatch is consume_scope for a batch subscriber: a "<d> create"
// CONSUMER root with one link per distinct correlation_id (the last message's
// context wins; messaging.batch.message_count on the link when several
// messages shared it), and "<d> process" as its child.
func (a *app) consumeBatch(recs []*kgo.Record) *handler {
	now := time.Now()
	first, last := recs[0], recs[len(recs)-1]
	h := &handler{corrID: header(first, "correlation_id")}
	size := 0
	for _, r := range recs {
		size += len(r.Value)
	}
	attrs := func(span ptrace.Span) {
		m := span.Attributes()
		m.PutStr(attrSystem, "kafka")
		m.PutStr(attrMessageID, fmt.Sprintf("%d-%d-%d", first.Offset, last.Offset, first.Timestamp.UnixMilli()))
		m.PutStr(attrConversationID, h.corrID)
		m.PutInt(attrPayloadSize, int64(size))
		m.PutInt(attrBatchCount, int64(len(recs)))
		m.PutInt(attrKafkaPartition, int64(first.Partition))
		m.PutStr(attrDestPublishName, first.Topic)
	}
	create, sc := a.startSpan(first.Topic+" create", ptrace.SpanKindConsumer, spanContext{}, now)
	attrs(create)
	type link struct {
		ctx   spanContext
		count int
	}
	var order []string
	links := map[string]*link{}
	for _, r := range recs {
		corr := header(r, "correlation_id")
		tp, err := traceparent.Parse(header(r, "traceparent"))
		if corr == "" || err != nil || !tp.IsValid() {
			continue
		}
		l, ok := links[corr]
		if !ok {
			l = &link{}
			links[corr] = l
			order = append(order, corr)
		}
		l.count++
		l.ctx = spanContext{traceID: tp.TraceID, spanID: tp.SpanID}
	}
	for _, corr := range order {
		l := links[corr]
		pl := create.Links().AppendEmpty()
		pl.SetTraceID(l.ctx.traceID)
		pl.SetSpanID(l.ctx.spanID)
		if l.count > 1 {
			pl.Attributes().PutInt(attrBatchCount, int64(l.count))
		}
	}
	h.origin = sc
	h.process, h.self = a.startSpan(first.Topic+" process", ptrace.SpanKindConsumer, sc, now)
	attrs(h.process)
	h.process.Attributes().PutStr(attrOperation, "process")
	return h
}

// done ends the handler's process span, as FastStream's after_processed does.
func (h *handler) done() {
	h.process.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
}

// traces returns the spans recorded so far.
func (a *app) traces() ptrace.Traces { return a.td }

func header(rec *kgo.Record, key string) string {
	for _, h := range rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func joinBaggage(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

func newTraceID() pcommon.TraceID {
	var id pcommon.TraceID
	_, _ = rand.Read(id[:]) // never returns an error since Go 1.24
	return id
}

func newSpanID() pcommon.SpanID {
	var id pcommon.SpanID
	_, _ = rand.Read(id[:])
	return id
}

// newMessageID mimics FastStream's uuid4().hex message ids.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}
