package semconvprocessor

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
)

var metricdatatestIgnore = []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}

// fastStreamSpan fills a FastStream Kafka consume span (semconv 1.11 names, "<topic> process").
func fastStreamSpan(s ptrace.Span, i int) {
	s.SetName("orders process")
	s.SetKind(ptrace.SpanKindConsumer)
	a := s.Attributes()
	a.PutStr("messaging.system", "kafka")
	a.PutStr("messaging.message.id", strconv.Itoa(1000+i)+"-1763800000012")
	a.PutStr("messaging.message.conversation_id", "5c0b1a6e-2f0e-4b8f-9e0e-0d6c7a1f2b3c")
	a.PutInt("messaging.message.payload_size_bytes", 182)
	a.PutInt("messaging.kafka.destination.partition", int64(i%12))
	a.PutInt("messaging.kafka.message.offset", int64(1000+i))
	a.PutStr("messaging.destination_publish.name", "orders")
	a.PutStr("messaging.operation", "process")
}

// currentSpan fills a kafkajs-instrumentation process span (current conventions).
func currentSpan(s ptrace.Span, i int) {
	s.SetName("process carts")
	s.SetKind(ptrace.SpanKindConsumer)
	a := s.Attributes()
	a.PutStr("messaging.system", "kafka")
	a.PutStr("messaging.destination.name", "carts")
	a.PutStr("messaging.destination.partition.id", "2")
	a.PutStr("messaging.operation.type", "process")
	a.PutStr("messaging.operation.name", "process")
	a.PutStr("messaging.kafka.message.key", "cart-"+strconv.Itoa(i))
	a.PutStr("messaging.kafka.offset", strconv.Itoa(i))
}

// httpSpan fills an HTTP server span (not messaging).
func httpSpan(s ptrace.Span, _ int) {
	s.SetName("POST /orders")
	s.SetKind(ptrace.SpanKindServer)
	a := s.Attributes()
	a.PutStr("http.request.method", "POST")
	a.PutStr("http.route", "/orders")
	a.PutInt("http.response.status_code", 202)
	a.PutStr("server.address", "orders.internal")
	a.PutStr("url.scheme", "https")
}

func benchTraces(tb testing.TB, fill func(ptrace.Span, int), n int) ptrace.Traces {
	tb.Helper()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		fill(spans.AppendEmpty(), i)
	}
	return td
}

const benchSpans = 512

// BenchmarkProcessTraces reports ns/span and allocs/span for batches of 512 spans: old
// FastStream spans (migrated), current spans and non-messaging spans (both untouched).
func BenchmarkProcessTraces(b *testing.B) {
	for _, bc := range []struct {
		name    string
		fill    func(ptrace.Span, int)
		mutates bool
	}{
		{"faststream", fastStreamSpan, true},
		{"current", currentSpan, false},
		{"non-messaging", httpSpan, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := newTestProcessor(b, ModeReplace)
			// Each batch is decoded from OTLP protobuf, as the otlp receiver does, so attribute
			// slices have the capacities they have in a collector.
			wire, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(benchTraces(b, bc.fill, benchSpans))
			require.NoError(b, err)
			td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
			require.NoError(b, err)
			var allocs perSpan
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if bc.mutates {
					b.StopTimer()
					td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
					require.NoError(b, err)
					b.StartTimer()
				}
				allocs.start(b)
				_, err = p.processTraces(context.Background(), td)
				allocs.stop(b)
				require.NoError(b, err)
			}
			allocs.report(b, benchSpans)
		})
	}
}

// perSpan counts the allocations of the measured calls only (not of the input copies) and
// reports ns/span and allocs/span.
type perSpan struct {
	mallocs uint64
	ms      runtime.MemStats
}

func (c *perSpan) start(b *testing.B) {
	b.StopTimer()
	runtime.ReadMemStats(&c.ms)
	c.mallocs -= c.ms.Mallocs
	b.StartTimer()
}

func (c *perSpan) stop(b *testing.B) {
	b.StopTimer()
	runtime.ReadMemStats(&c.ms)
	c.mallocs += c.ms.Mallocs
	b.StartTimer()
}

func (c *perSpan) report(b *testing.B, spans int) {
	n := float64(b.N * spans)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
	b.ReportMetric(float64(c.mallocs)/n, "allocs/span")
}
