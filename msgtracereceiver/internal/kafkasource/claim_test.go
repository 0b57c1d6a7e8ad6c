package kafkasource

import (
	"context"
	"go.uber.org/zap"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

func TestAppendMessage(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.GroupID = "tap"
	c := &claim{
		h:     &handler{src: &Source{cfg: cfg}, clusterID: "c1"},
		topic: "orders", partition: 2, partStr: "2", idPrefix: "c1/orders/2/",
		address: "kafka-1", port: 9092,
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seen := ts.Add(time.Second)
	recs := []*sarama.ConsumerMessage{
		{
			Topic: "orders", Partition: 2, Offset: 41, Timestamp: ts, Key: []byte("user-1"), Value: make([]byte, 200),
			Headers: []*sarama.RecordHeader{
				{Key: []byte("traceparent"), Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
				{Key: []byte("Tracestate"), Value: []byte("a=1")},
				{Key: []byte("baggage"), Value: []byte("tenant=acme")},
				{Key: []byte("message_id"), Value: []byte("m-1")},
				{Key: []byte("correlation_id"), Value: []byte("conv-1")},
				{Key: []byte("content-type"), Value: []byte("application/json")},
				nil,
			},
		},
		{Topic: "orders", Partition: 2, Offset: 42, Timestamp: ts, Key: []byte{0xff, 0xfe}}, // tombstone, binary key
	}

	b := newBatch(1)
	for _, include := range []bool{false, true} {
		cfg.IncludeMessageKey = include
		b.reset()
		for _, r := range recs {
			c.add(context.Background(), b, r, seen)
		}
		want0 := message.Message{
			System: "kafka", Destination: "orders", Partition: "2", Identity: "c1/orders/2/41",
			ID: "m-1", ConversationID: "conv-1", Timestamp: ts, Observed: seen, BodySize: 200,
			TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceState: "a=1", Baggage: "tenant=acme",
			ConsumerGroup: "tap", ServerAddress: "kafka-1", ServerPort: 9092,
			Attributes: []attribute.KeyValue{semconv.MessagingKafkaOffset(41)},
		}
		if include {
			want0.Attributes = append(want0.Attributes, semconv.MessagingKafkaMessageKey("user-1"))
		}
		want1 := message.Message{
			System: "kafka", Destination: "orders", Partition: "2", Identity: "c1/orders/2/42",
			Timestamp: ts, Observed: seen, ConsumerGroup: "tap", ServerAddress: "kafka-1", ServerPort: 9092,
			// A key that is not UTF-8 has no canonical string form: never recorded.
			Attributes: []attribute.KeyValue{semconv.MessagingKafkaOffset(42), semconv.MessagingKafkaMessageTombstone(true)},
		}
		assert.Equal(t, []message.Message{want0, want1}, b.seal(), "include_message_key=%v", include)
	}
}

// faultRecorder counts faults by kind.
type faultRecorder struct{ faults map[string]int }

func (f *faultRecorder) Fault(_ context.Context, system, kind string) { f.faults[system+"/"+kind]++ }
func (*faultRecorder) Lag(context.Context, string, string, int64)     {}
func (*faultRecorder) Dropped(context.Context, string, string, int64) {}

// A record without a timestamp (-1 on the wire) is counted and handed on
// with a zero Timestamp, so the span model uses the observed time.
func TestAppendMessageWithoutTimestamp(t *testing.T) {
	rec := &faultRecorder{faults: map[string]int{}}
	c := &claim{h: &handler{src: &Source{cfg: NewDefaultConfig(), set: message.Settings{Telemetry: rec}, logger: zap.NewNop()}}, idPrefix: "c/t/0/"}
	for _, ts := range []time.Time{{}, time.UnixMilli(-1)} {
		b := newBatch(1)
		c.add(context.Background(), b, &sarama.ConsumerMessage{Timestamp: ts}, time.Now())
		assert.True(t, b.seal()[0].Timestamp.IsZero())
	}
	assert.Equal(t, map[string]int{"kafka/timestamp": 2}, rec.faults)
}

// A batch's buffers are reused, but the strings handed to Deliver are not:
// what a previous batch's messages said stays intact.
func TestBatchReuse(t *testing.T) {
	c := &claim{h: &handler{src: &Source{cfg: NewDefaultConfig()}}, idPrefix: "c1/orders/0/"}
	rec := func(off int64, tp string) *sarama.ConsumerMessage {
		return &sarama.ConsumerMessage{Offset: off, Timestamp: time.Unix(1, 0),
			Headers: []*sarama.RecordHeader{{Key: []byte("traceparent"), Value: []byte(tp)}}}
	}
	b := newBatch(1)
	c.add(context.Background(), b, rec(7, "tp-seven"), time.Now())
	c.add(context.Background(), b, rec(8, ""), time.Now())
	first := b.seal()
	id7, tp7, id8 := first[0].Identity, first[0].TraceParent, first[1].Identity

	b.reset()
	c.add(context.Background(), b, rec(123456, "tp-other-and-longer"), time.Now())
	second := b.seal()

	assert.Equal(t, []string{"c1/orders/0/7", "tp-seven", "c1/orders/0/8"}, []string{id7, tp7, id8})
	assert.Empty(t, first[1].TraceParent)
	assert.Equal(t, "c1/orders/0/123456", second[0].Identity)
	assert.Equal(t, "tp-other-and-longer", second[0].TraceParent)
}

// BenchmarkBatch measures the record to Message conversion per record, for
// batches of 1000 records with a traceparent as an instrumented producer
// writes them.
func BenchmarkBatch(b *testing.B) {
	c := &claim{h: &handler{src: &Source{cfg: NewDefaultConfig()}}, topic: "bench", partStr: "3", idPrefix: "cluster-id/bench/3/"}
	recs := make([]*sarama.ConsumerMessage, 1000)
	for i := range recs {
		recs[i] = &sarama.ConsumerMessage{
			Topic: "bench", Partition: 3, Offset: int64(1_000_000 + i), Timestamp: time.Unix(1_700_000_000, 0),
			Key: []byte("key"), Value: make([]byte, 200),
			Headers: []*sarama.RecordHeader{
				{Key: []byte("content-type"), Value: []byte("application/json")},
				{Key: []byte("traceparent"), Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
			},
		}
	}
	bt := newBatch(len(recs))
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		bt.reset()
		for _, r := range recs {
			c.add(context.Background(), bt, r, now)
		}
		bt.seal()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/msg")
}
