package spanmodel

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// BenchmarkBuild measures the span model alone, per message, for a batch of
// 1000 Kafka records as the Kafka source delivers them.
func BenchmarkBuild(b *testing.B) {
	for _, tc := range []struct {
		name string
		tp   string
		opts Options
	}{
		{"context/message", tpSampled, Options{Rebuild: RebuildMissing, Receive: ReceiveMessage, Correlation: CorrelationParent, SamplingRatio: 1}},
		{"rebuilt/message", "", Options{Rebuild: RebuildMissing, Receive: ReceiveMessage, Correlation: CorrelationParent, SamplingRatio: 1}},
		{"context/batch", tpSampled, Options{Rebuild: RebuildMissing, Receive: ReceiveBatch, Correlation: CorrelationParent, SamplingRatio: 1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			msgs := make([]message.Message, 1000)
			for i := range msgs {
				msgs[i] = kafkaMsg(int64(i), withTraceParent(tc.tp))
			}
			bl := New(tc.opts)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				bl.Build(msgs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
		})
	}
}

// BenchmarkPdataFloor is the reference for BenchmarkBuild/context/message:
// the same receive spans, with the same attributes and precomputed IDs,
// written straight into pdata with nothing parsed, hashed or checked. No
// span model can build these spans for less; what BenchmarkBuild costs on
// top is the model's own work.
func BenchmarkPdataFloor(b *testing.B) {
	msgs := make([]message.Message, 1000)
	for i := range msgs {
		msgs[i] = kafkaMsg(int64(i), withTraceParent(tpSampled))
	}
	spanID := ReceiveSpanID(group, msgs[0].Identity)
	start, end := pcommon.NewTimestampFromTime(produced), pcommon.NewTimestampFromTime(observed)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		spans.EnsureCapacity(len(msgs))
		for i := range msgs {
			m := &msgs[i]
			s := spans.AppendEmpty()
			s.SetTraceID(ctxTrace)
			s.SetSpanID(spanID)
			s.SetParentSpanID(ctxSpan)
			s.SetFlags(flagsRemote)
			s.SetName("receive orders")
			s.SetKind(ptrace.SpanKindClient)
			s.SetStartTimestamp(start)
			s.SetEndTimestamp(end)
			attrs := s.Attributes()
			attrs.EnsureCapacity(11)
			attrs.PutStr(string(semconv.MessagingSystemKey), m.System)
			attrs.PutStr(string(semconv.MessagingOperationTypeKey), "receive")
			attrs.PutStr(string(semconv.MessagingOperationNameKey), "receive")
			attrs.PutStr(string(semconv.MessagingDestinationNameKey), m.Destination)
			attrs.PutStr(string(semconv.MessagingDestinationPartitionIDKey), m.Partition)
			attrs.PutStr(string(semconv.ServerAddressKey), m.ServerAddress)
			attrs.PutInt(string(semconv.ServerPortKey), int64(m.ServerPort))
			attrs.PutStr(string(semconv.MessagingConsumerGroupNameKey), m.ConsumerGroup)
			attrs.PutStr(string(semconv.MessagingMessageIDKey), m.ID)
			attrs.PutInt(string(semconv.MessagingMessageBodySizeKey), int64(m.BodySize))
			attrs.PutInt(string(semconv.MessagingKafkaOffsetKey), m.Attributes[0].Value.AsInt64())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
}
