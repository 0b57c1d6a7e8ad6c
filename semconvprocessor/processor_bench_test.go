package semconvprocessor

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

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
// FastStream spans (migrated), current spans and non-messaging spans (both untouched). Every
// iteration decodes the batch from OTLP protobuf, as the otlp receiver does (so attribute slices
// have the capacities they have in a collector); ns/op includes that decoding, ns/span is the
// median time of processTraces per batch divided by the spans (the median: a shared machine
// makes the mean measure itself), allocs/span is counted over 20 more batches after the loop.
func BenchmarkProcessTraces(b *testing.B) {
	for _, bc := range []struct {
		name string
		fill func(ptrace.Span, int)
	}{
		{"faststream", fastStreamSpan},
		{"current", currentSpan},
		{"non-messaging", httpSpan},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := newTestProcessor(b, ModeReplace)
			wire, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(benchTraces(b, bc.fill, benchSpans))
			require.NoError(b, err)
			decode := func() ptrace.Traces {
				td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
				require.NoError(b, err)
				return td
			}
			var durations []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				td := decode()
				start := time.Now()
				_, err := p.processTraces(context.Background(), td)
				durations = append(durations, time.Since(start))
				require.NoError(b, err)
			}
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds())/benchSpans, "ns/span")

			const rounds = 20
			var mallocs uint64
			var ms runtime.MemStats
			for range rounds {
				td := decode()
				runtime.ReadMemStats(&ms)
				before := ms.Mallocs
				_, err := p.processTraces(context.Background(), td)
				require.NoError(b, err)
				runtime.ReadMemStats(&ms)
				mallocs += ms.Mallocs - before
			}
			b.ReportMetric(float64(mallocs)/(rounds*benchSpans), "allocs/span")
		})
	}
}
