package spanmodel

import (
	"testing"

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
