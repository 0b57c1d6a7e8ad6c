package spanmodel

import (
	"testing"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata"
	"go.opentelemetry.io/collector/pdata/xpdata/pref"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/internal/cputime"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// The benchmarks below build the spans of 1000 Kafka records, as the Kafka
// source delivers them, and hand each result over as the collector's
// pipeline does (see deliver). They report ns/msg (wall) and cpu-ns/msg
// (CPU time of the process, GC included: steadier on a shared machine).

// BenchmarkBuild measures the span model alone, per message. The
// context/message cases compare the builder as it ships with
// pdata.useProtoPooling on (xpdata.MapBuilder is compared at the floor,
// BenchmarkPdataFloor).
func BenchmarkBuild(b *testing.B) {
	msgOpts := Options{Rebuild: RebuildMissing, Receive: ReceiveMessage, Correlation: CorrelationParent, SamplingRatio: 1}
	for _, tc := range []struct {
		name    string
		tp      string
		opts    Options
		pooling bool
	}{
		{"context/message", tpSampled, msgOpts, false},
		{"context/message/pooling", tpSampled, msgOpts, true},
		{"rebuilt/message", "", msgOpts, false},
		{"context/batch", tpSampled, Options{Rebuild: RebuildMissing, Receive: ReceiveBatch, Correlation: CorrelationParent, SamplingRatio: 1}, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			msgs := make([]message.Message, 1000)
			for i := range msgs {
				msgs[i] = kafkaMsg(int64(i), withTraceParent(tc.tp))
			}
			bl := New(tc.opts)
			setPooling(b, tc.pooling)
			measure(b, len(msgs), func() {
				td, _ := bl.Build(msgs)
				deliver(td)
			})
		})
	}
}

// BenchmarkPdataFloor is the reference for BenchmarkBuild/context/message:
// the same receive spans, with the same attributes and precomputed IDs,
// written straight into pdata with nothing parsed, hashed or checked. No
// span model can build these spans for less than the fastest of its cases;
// what BenchmarkBuild costs on top is the model's own work. The cases are
// the ways of writing pdata: the Put family (put) or xpdata.MapBuilder,
// each with pdata.useProtoPooling off and on.
func BenchmarkPdataFloor(b *testing.B) {
	for _, tc := range []struct {
		name       string
		mapBuilder bool
		pooling    bool
	}{
		{"put", false, false},
		{"mapbuilder", true, false},
		{"put+pooling", false, true},
		{"mapbuilder+pooling", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			msgs := make([]message.Message, 1000)
			for i := range msgs {
				msgs[i] = kafkaMsg(int64(i), withTraceParent(tpSampled))
			}
			setPooling(b, tc.pooling)
			measure(b, len(msgs), func() { deliver(floorTraces(msgs, tc.mapBuilder)) })
		})
	}
}

// floorTraces writes the receive spans of msgs with nothing computed.
func floorTraces(msgs []message.Message, mapBuilder bool) ptrace.Traces {
	spanID := ReceiveSpanID(group, msgs[0].Identity)
	start, end := pcommon.NewTimestampFromTime(produced), pcommon.NewTimestampFromTime(observed)
	var mb xpdata.MapBuilder // one for all spans: a MapBuilder lives on the heap
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
		offset := m.Attributes[0].Value.AsInt64()
		if !mapBuilder {
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
			attrs.PutInt(string(semconv.MessagingKafkaOffsetKey), offset)
			continue
		}
		mb.EnsureCapacity(11)
		mb.AppendEmpty(string(semconv.MessagingSystemKey)).SetStr(m.System)
		mb.AppendEmpty(string(semconv.MessagingOperationTypeKey)).SetStr("receive")
		mb.AppendEmpty(string(semconv.MessagingOperationNameKey)).SetStr("receive")
		mb.AppendEmpty(string(semconv.MessagingDestinationNameKey)).SetStr(m.Destination)
		mb.AppendEmpty(string(semconv.MessagingDestinationPartitionIDKey)).SetStr(m.Partition)
		mb.AppendEmpty(string(semconv.ServerAddressKey)).SetStr(m.ServerAddress)
		mb.AppendEmpty(string(semconv.ServerPortKey)).SetInt(int64(m.ServerPort))
		mb.AppendEmpty(string(semconv.MessagingConsumerGroupNameKey)).SetStr(m.ConsumerGroup)
		mb.AppendEmpty(string(semconv.MessagingMessageIDKey)).SetStr(m.ID)
		mb.AppendEmpty(string(semconv.MessagingMessageBodySizeKey)).SetInt(int64(m.BodySize))
		mb.AppendEmpty(string(semconv.MessagingKafkaOffsetKey)).SetInt(offset)
		mb.UnsafeIntoMap(s.Attributes())
	}
	return td
}

// deliver does to td what the collector's pipeline does to the Traces a
// receiver hands it (service/internal/refconsumer): marks it pipeline-owned
// and, once consumed, releases it, which with pdata.useProtoPooling returns
// its objects to pdata's pools for the next Build. Without the gate it only
// counts a reference.
func deliver(td ptrace.Traces) {
	if pref.MarkPipelineOwnedTraces(td) {
		pref.UnrefTraces(td)
	}
}

// setPooling sets the pdata.useProtoPooling gate for the benchmark and
// restores it after.
func setPooling(b *testing.B, on bool) {
	b.Helper()
	id := pref.UseProtoPooling.ID()
	was := pref.UseProtoPooling.IsEnabled()
	if err := featuregate.GlobalRegistry().Set(id, on); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := featuregate.GlobalRegistry().Set(id, was); err != nil {
			b.Error(err)
		}
	})
}

// measure runs build b.N times and reports ns/msg and cpu-ns/msg for msgs
// messages per call.
func measure(b *testing.B, msgs int, build func()) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for range b.N {
		build()
	}
	cpu = cputime.Process() - cpu
	n := float64(b.N * msgs)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/msg")
}
