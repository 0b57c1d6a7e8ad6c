package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// kafkaTraffic is what a test produced, by kind of message.
type kafkaTraffic struct {
	traced   map[offsetKey]producerContext // sampled traceparent
	unsample map[offsetKey]producerContext // traceparent with sampled=0
	plain    map[offsetKey]*kgo.Record     // no headers at all
	records  map[offsetKey]*kgo.Record
}

func newKafkaTraffic() *kafkaTraffic {
	return &kafkaTraffic{
		traced:   map[offsetKey]producerContext{},
		unsample: map[offsetKey]producerContext{},
		plain:    map[offsetKey]*kgo.Record{},
		records:  map[offsetKey]*kgo.Record{},
	}
}

// tracedRecord is a message from an instrumented FastStream producer.
func tracedRecord(topic string, partition int32, n int, pc producerContext) *kgo.Record {
	return &kgo.Record{
		Topic:     topic,
		Partition: partition,
		Value:     make([]byte, 10+n),
		Headers: []kgo.RecordHeader{
			pc.header(),
			harness.Header("correlation_id", fmt.Sprintf("corr-%d", n)),
			harness.Header("message_id", fmt.Sprintf("msg-%d", n)),
			harness.Header("content-type", "application/json"),
			harness.Header("baggage", fmt.Sprintf("tenant=acme,user_id=%d", n)),
		},
	}
}

func headerValue(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// plainRecord is a message from an uninstrumented producer: a key, a body, no headers.
func plainRecord(topic string, partition int32, n int) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: partition, Key: fmt.Appendf(nil, "user-%d", n), Value: make([]byte, 50+n)}
}

// produceMix writes, to every partition of each topic, first one message
// with sampled=0 and then perKind traced and perKind plain messages,
// interleaved. Partition order makes the sampled=0 message the first the tap
// sees, so its absence is checked once the later messages arrived.
func produceMix(t *testing.T, kafka *harness.Kafka, tr *kafkaTraffic, perKind int, topics ...harness.Topic) {
	t.Helper()
	n := len(tr.records)
	var first, rest []*kgo.Record
	contexts := map[*kgo.Record]producerContext{}
	for _, topic := range topics {
		for p := range topic.Partitions {
			n++
			r := tracedRecord(topic.Name, p, n, newProducerContext(n, false))
			contexts[r] = newProducerContext(n, false)
			first = append(first, r)
			for range perKind {
				n++
				r := tracedRecord(topic.Name, p, n, newProducerContext(n, true))
				contexts[r] = newProducerContext(n, true)
				n++
				rest = append(rest, r, plainRecord(topic.Name, p, n))
			}
		}
	}
	produce(t, kafka, first...)
	produce(t, kafka, rest...)
	for _, r := range append(first, rest...) {
		k := recordKey(r)
		tr.records[k] = r
		pc, ok := contexts[r]
		switch {
		case !ok:
			tr.plain[k] = r
		case pc.sampled:
			tr.traced[k] = pc
		default:
			tr.unsample[k] = pc
		}
	}
}

// uniqueSpans drops repeated span IDs: a message delivered twice (at least
// once) rebuilds the same IDs, which backends collapse.
func uniqueSpans(spans []ptrace.Span) []ptrace.Span {
	seen := map[pcommon.SpanID]bool{}
	var out []ptrace.Span
	for _, s := range spans {
		if !seen[s.SpanID()] {
			seen[s.SpanID()] = true
			out = append(out, s)
		}
	}
	return out
}

func brokerAddress(t *testing.T, kafka *harness.Kafka) (string, int64) {
	t.Helper()
	host, port, err := net.SplitHostPort(kafka.Brokers()[0])
	require.NoError(t, err)
	p, err := strconv.ParseInt(port, 10, 64)
	require.NoError(t, err)
	return host, p
}

// TestKafkaMessageMode runs testdata/e2e-kafka.yaml (spans.receive: message)
// against messages with and without trace context, on a topic named in the
// config, one matched by its regular expression, and one not tapped.
func TestKafkaMessageMode(t *testing.T) {
	orders := harness.Topic{Name: "orders", Partitions: 3}
	audit := harness.Topic{Name: "audit.payments", Partitions: 1}
	untapped := harness.Topic{Name: "billing", Partitions: 1}
	kafka := startKafka(t, orders, audit, untapped)
	gw := startGateway(t, "e2e-kafka.yaml", kafka)

	tr := newKafkaTraffic()
	produceMix(t, kafka, tr, 4, orders, audit)
	produce(t, kafka, plainRecord(untapped.Name, 0, 1000), plainRecord(untapped.Name, 0, 1001))

	wantReceive := len(tr.traced) + len(tr.plain)
	td := waitForSpans(t, gw, func(td ptrace.Traces) bool {
		return len(uniqueSpans(spansOf(td, ptrace.SpanKindClient))) >= wantReceive &&
			len(uniqueSpans(spansOf(td, ptrace.SpanKindProducer))) >= len(tr.plain)
	})

	host, port := brokerAddress(t, kafka)
	receives := map[offsetKey]ptrace.Span{}
	for _, s := range uniqueSpans(spansOf(td, ptrace.SpanKindClient)) {
		k, ok := attrKey(s.Attributes(), s.Attributes())
		require.True(t, ok, "receive span without destination/partition/offset: %v", attrs(s.Attributes()))
		_, dup := receives[k]
		require.False(t, dup, "two receive spans with different IDs for %+v", k)
		receives[k] = s
	}
	rebuilt := map[pcommon.SpanID]ptrace.Span{}
	for _, s := range uniqueSpans(spansOf(td, ptrace.SpanKindProducer)) {
		rebuilt[s.SpanID()] = s
	}
	assert.Len(t, receives, wantReceive, "one receive span per traced or plain message, none for sampled=0 or the untapped topic")
	assert.Len(t, rebuilt, len(tr.plain), "one rebuilt send span per message without context")

	common := func(t *testing.T, s ptrace.Span, k offsetKey, r *kgo.Record) {
		a := s.Attributes().AsRaw()
		assert.Equal(t, "receive "+k.topic, s.Name())
		assert.Equal(t, "kafka", a["messaging.system"])
		assert.Equal(t, "receive", a["messaging.operation.type"])
		assert.Equal(t, "receive", a["messaging.operation.name"])
		assert.Equal(t, "otelcol-msgtrace-e2e", a["messaging.consumer.group.name"])
		assert.Equal(t, int64(len(r.Value)), a["messaging.message.body.size"])
		assert.Equal(t, host, a["server.address"])
		assert.Equal(t, port, a["server.port"])
		assert.NotContains(t, a, "messaging.kafka.message.key", "keys are opt-in (include_message_key)")
		// The receive span starts at the message's own timestamp (ms on the wire).
		assert.Equal(t, r.Timestamp.UnixMilli(), s.StartTimestamp().AsTime().UnixMilli())
		assert.GreaterOrEqual(t, s.EndTimestamp(), s.StartTimestamp())
	}

	for k, pc := range tr.traced {
		t.Run(fmt.Sprintf("traced %s/%s@%d", k.topic, k.partition, k.offset), func(t *testing.T) {
			s, ok := receives[k]
			require.True(t, ok, "no receive span")
			r := tr.records[k]
			common(t, s, k, r)
			assert.Equal(t, pc.traceID, s.TraceID(), "receive span in the producer's trace")
			assert.Equal(t, pc.spanID, s.ParentSpanID(), "receive span parented on the producer's span")
			a := s.Attributes().AsRaw()
			msgID := headerValue(r, "message_id")
			assert.Equal(t, msgID, a["messaging.message.id"], "from FastStream's message_id header")
			assert.Equal(t, headerValue(r, "correlation_id"), a["messaging.message.conversation_id"], "from FastStream's correlation_id header")
			assert.Equal(t, "acme", a["baggage.tenant"])
			assert.Equal(t, strings.TrimPrefix(msgID, "msg-"), a["baggage.user_id"])
		})
	}
	for k, r := range tr.plain {
		t.Run(fmt.Sprintf("plain %s/%s@%d", k.topic, k.partition, k.offset), func(t *testing.T) {
			s, ok := receives[k]
			require.True(t, ok, "no receive span")
			common(t, s, k, r)
			send, ok := rebuilt[s.ParentSpanID()]
			require.True(t, ok, "receive span's parent is not a rebuilt send span")
			assert.Equal(t, s.TraceID(), send.TraceID())
			assert.Equal(t, "send "+k.topic, send.Name())
			assert.True(t, send.ParentSpanID().IsEmpty(), "rebuilt send span is a root")
			assert.Equal(t, r.Timestamp.UnixMilli(), send.StartTimestamp().AsTime().UnixMilli())
			sk, ok := attrKey(send.Attributes(), send.Attributes())
			require.True(t, ok, "send span attributes: %v", attrs(send.Attributes()))
			assert.Equal(t, k, sk)
			assert.Equal(t, "send", send.Attributes().AsRaw()["messaging.operation.type"])
		})
	}

	sampledOut := map[pcommon.TraceID]bool{}
	for _, pc := range tr.unsample {
		sampledOut[pc.traceID] = true
	}
	traceIDs := map[pcommon.TraceID]bool{}
	for _, r := range harness.Spans(td) {
		assert.False(t, sampledOut[r.Span.TraceID()], "span %q in a trace the producer did not sample", r.Span.Name())
		assert.NotEqual(t, untapped.Name, r.Span.Attributes().AsRaw()["messaging.destination.name"], "span for a topic the config does not tap")
		if r.Span.Kind() == ptrace.SpanKindProducer {
			traceIDs[r.Span.TraceID()] = true
		}
	}
	assert.Len(t, traceIDs, len(tr.plain), "every rebuilt message starts its own trace")
}

// TestKafkaBatchMode runs testdata/e2e-kafka-batch.yaml (spans.receive: batch):
// receive spans per fetched batch, one link per message to its creation context.
func TestKafkaBatchMode(t *testing.T) {
	orders := harness.Topic{Name: "orders", Partitions: 2}
	kafka := startKafka(t, orders)
	gw := startGateway(t, "e2e-kafka-batch.yaml", kafka)

	tr := newKafkaTraffic()
	produceMix(t, kafka, tr, 3, orders)

	want := len(tr.traced) + len(tr.plain)
	linkCount := func(td ptrace.Traces) int {
		n := 0
		for _, s := range uniqueSpans(spansOf(td, ptrace.SpanKindClient)) {
			n += s.Links().Len()
		}
		return n
	}
	td := waitForSpans(t, gw, func(td ptrace.Traces) bool {
		return linkCount(td) >= want && len(uniqueSpans(spansOf(td, ptrace.SpanKindProducer))) >= len(tr.plain)
	})

	type linked struct {
		link  ptrace.SpanLink
		batch ptrace.Span
	}
	links := map[offsetKey]linked{}
	for _, s := range uniqueSpans(spansOf(td, ptrace.SpanKindClient)) {
		a := s.Attributes().AsRaw()
		assert.Equal(t, "receive orders", s.Name())
		assert.True(t, s.ParentSpanID().IsEmpty(), "a batch receive span is a root")
		assert.Equal(t, "receive", a["messaging.operation.type"])
		assert.Equal(t, "otelcol-msgtrace-e2e-batch", a["messaging.consumer.group.name"])
		assert.GreaterOrEqual(t, a["messaging.batch.message_count"], int64(s.Links().Len()))
		for _, l := range s.Links().All() {
			k, ok := attrKey(s.Attributes(), l.Attributes())
			require.True(t, ok, "link without offset: %v on span %v", attrs(l.Attributes()), a)
			_, dup := links[k]
			require.False(t, dup, "message %+v linked from two different batch spans", k)
			links[k] = linked{link: l, batch: s}
		}
	}
	assert.Len(t, links, want, "one link per traced or plain message, none for sampled=0")

	rebuilt := map[pcommon.SpanID]ptrace.Span{}
	for _, s := range uniqueSpans(spansOf(td, ptrace.SpanKindProducer)) {
		rebuilt[s.SpanID()] = s
	}
	assert.Len(t, rebuilt, len(tr.plain))

	for k, pc := range tr.traced {
		l, ok := links[k]
		if !assert.True(t, ok, "no link for traced message %+v", k) {
			continue
		}
		assert.Equal(t, pc.traceID, l.link.TraceID())
		assert.Equal(t, pc.spanID, l.link.SpanID())
		la := l.link.Attributes().AsRaw()
		assert.Equal(t, int64(len(tr.records[k].Value)), la["messaging.message.body.size"])
		assert.Equal(t, "acme", la["baggage.tenant"], "baggage stays on the message's link")
		assert.Contains(t, la, "messaging.message.id")
	}
	for k, r := range tr.plain {
		l, ok := links[k]
		if !assert.True(t, ok, "no link for plain message %+v", k) {
			continue
		}
		send, ok := rebuilt[l.link.SpanID()]
		if !assert.True(t, ok, "link of %+v does not point at a rebuilt send span", k) {
			continue
		}
		assert.Equal(t, send.TraceID(), l.link.TraceID())
		assert.Equal(t, "send orders", send.Name())
		assert.Equal(t, r.Timestamp.UnixMilli(), send.StartTimestamp().AsTime().UnixMilli())
	}
	for _, pc := range tr.unsample {
		for _, s := range harness.Spans(td) {
			assert.NotEqual(t, pc.traceID, s.Span.TraceID(), "span in a trace the producer did not sample")
			for _, l := range s.Span.Links().All() {
				assert.NotEqual(t, pc.traceID, l.TraceID(), "link to a message the producer did not sample")
			}
		}
	}
}

// TestKafkaRebuiltIDsAreStable taps the same messages with two gateways in
// different consumer groups: the rebuilt send spans must carry the same IDs,
// which is what lets a backend collapse the duplicates of a redelivery.
func TestKafkaRebuiltIDsAreStable(t *testing.T) {
	orders := harness.Topic{Name: "orders", Partitions: 3}
	kafka := startKafka(t, orders)
	var records []*kgo.Record
	for i := range 9 {
		records = append(records, plainRecord(orders.Name, int32(i%3), i))
	}
	produce(t, kafka, records...)

	rebuiltBy := func(gw *harness.Gateway) map[offsetKey][2]string {
		td := waitForSpans(t, gw, func(td ptrace.Traces) bool {
			return len(uniqueSpans(spansOf(td, ptrace.SpanKindProducer))) >= len(records)
		})
		out := map[offsetKey][2]string{}
		for _, s := range uniqueSpans(spansOf(td, ptrace.SpanKindProducer)) {
			k, ok := attrKey(s.Attributes(), s.Attributes())
			require.True(t, ok, "send span attributes: %v", attrs(s.Attributes()))
			out[k] = [2]string{s.TraceID().String(), s.SpanID().String()}
		}
		return out
	}
	first := rebuiltBy(startGateway(t, "e2e-kafka.yaml", kafka))
	second := rebuiltBy(startGateway(t, "e2e-kafka.yaml", kafka,
		"--set=receivers::msgtrace::kafka::group_id=otelcol-msgtrace-e2e-second"))

	require.Len(t, first, len(records))
	assert.Equal(t, first, second)
}
