package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor"
)

// corpusSpans is the size of the benchmark batch.
const corpusSpans = 512

// fastStreamCorpus builds one batch of corpusSpans spans from the FastStream inputs of the semconv
// processor's golden tests (Kafka, RabbitMQ, NATS, Redis: create, publish and process spans,
// single and batch, with exceptions), repeated in order, under FastStream's scope.
func fastStreamCorpus(tb testing.TB) ptrace.Traces {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "semconvprocessor", "testdata", "traces", "faststream_*", "input.json"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	pool := ptrace.NewSpanSlice()
	td := ptrace.NewTraces()
	var scope ptrace.ScopeSpans
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(tb, err)
		in, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
		require.NoError(tb, err)
		for i := 0; i < in.ResourceSpans().Len(); i++ {
			rs := in.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				if ss.Scope().Name() != "opentelemetry.instrumentation.faststream" {
					continue
				}
				if td.ResourceSpans().Len() == 0 {
					nrs := td.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(nrs.Resource())
					scope = nrs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(scope.Scope())
					scope.SetSchemaUrl(ss.SchemaUrl())
				}
				ss.Spans().MoveAndAppendTo(pool)
			}
		}
	}
	for i := range corpusSpans {
		pool.At(i % pool.Len()).CopyTo(scope.Spans().AppendEmpty())
	}
	return td
}

// currentCorpus is corpusSpans kafkajs-instrumentation spans, already current.
func currentCorpus(tb testing.TB) ptrace.Traces {
	tb.Helper()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range corpusSpans {
		s := spans.AppendEmpty()
		s.SetName("process carts")
		s.SetKind(ptrace.SpanKindConsumer)
		a := s.Attributes()
		a.PutStr("messaging.system", "kafka")
		a.PutStr("messaging.destination.name", "carts")
		a.PutStr("messaging.destination.partition.id", "2")
		a.PutStr("messaging.operation.type", "process")
		a.PutStr("messaging.operation.name", "process")
		a.PutStr("messaging.kafka.message.key", "cart-33")
		a.PutStr("messaging.kafka.offset", "311")
	}
	return td
}

func newSemconv(tb testing.TB, next *consumertest.TracesSink) processor.Traces {
	tb.Helper()
	f := semconvprocessor.NewFactory()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), next)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), nil))
	tb.Cleanup(func() { require.NoError(tb, p.Shutdown(context.Background())) })
	return p
}

func newTransform(tb testing.TB, next *consumertest.TracesSink) processor.Traces {
	tb.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "transform.yaml"))
	require.NoError(tb, err)
	f := transformprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	sub, err := cm.Sub(component.NewID(f.Type()).String())
	require.NoError(tb, err)
	require.NoError(tb, sub.Unmarshal(cfg))
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), nil))
	tb.Cleanup(func() { require.NoError(tb, p.Shutdown(context.Background())) })
	return p
}

// TestSameOutput checks that the two processors are configured equivalently: they turn the
// benchmark batch into the same spans.
func TestSameOutput(t *testing.T) {
	run := func(newProc func(testing.TB, *consumertest.TracesSink) processor.Traces) []byte {
		sink := new(consumertest.TracesSink)
		p := newProc(t, sink)
		require.NoError(t, p.ConsumeTraces(context.Background(), fastStreamCorpus(t)))
		require.Len(t, sink.AllTraces(), 1)
		b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(sink.AllTraces()[0])
		require.NoError(t, err)
		return normalize(t, b)
	}
	semconv, transform := run(newSemconv), run(newTransform)
	require.Equal(t, string(semconv), string(transform))
	require.NotEqual(t, string(normalizeTraces(t, fastStreamCorpus(t))), string(semconv), "the corpus was not migrated")
}

func normalizeTraces(t *testing.T, td ptrace.Traces) []byte {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	return normalize(t, b)
}

// normalize re-encodes OTLP JSON with attribute lists sorted by key.
func normalize(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	sortAttributes(v)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", " ")
	require.NoError(t, enc.Encode(v))
	return out.Bytes()
}

func sortAttributes(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if list, ok := child.([]any); ok && k == "attributes" {
				sort.SliceStable(list, func(i, j int) bool { return key(list[i]) < key(list[j]) })
			}
			sortAttributes(child)
		}
	case []any:
		for _, child := range x {
			sortAttributes(child)
		}
	}
}

func key(v any) string {
	m, _ := v.(map[string]any)
	k, _ := m["key"].(string)
	return k
}

// BenchmarkFastStreamSpans runs both processors on the same batch of 512 old-convention
// FastStream spans. Each iteration processes a fresh copy of the batch; the copy is made with
// the timer stopped and its allocations are not counted.
func BenchmarkFastStreamSpans(b *testing.B) {
	benchmark(b, fastStreamCorpus(b), true)
}

// BenchmarkCurrentSpans runs both processors on 512 spans that are already current (kafkajs
// instrumentation): the semconv processor must not allocate.
func BenchmarkCurrentSpans(b *testing.B) {
	benchmark(b, currentCorpus(b), false)
}

func benchmark(b *testing.B, corpus ptrace.Traces, mutates bool) {
	for _, bc := range []struct {
		name    string
		newProc func(testing.TB, *consumertest.TracesSink) processor.Traces
	}{{"semconv", newSemconv}, {"transform", newTransform}} {
		b.Run(bc.name, func(b *testing.B) {
			sink := new(consumertest.TracesSink)
			p := bc.newProc(b, sink)
			td := ptrace.NewTraces()
			corpus.CopyTo(td)
			var mallocs uint64
			var ms runtime.MemStats
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				if mutates {
					td = ptrace.NewTraces()
					corpus.CopyTo(td)
				}
				sink.Reset()
				runtime.ReadMemStats(&ms)
				mallocs -= ms.Mallocs
				b.StartTimer()
				if err := p.ConsumeTraces(context.Background(), td); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.ReadMemStats(&ms)
				mallocs += ms.Mallocs
				b.StartTimer()
			}
			spans := float64(b.N * corpusSpans)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
			b.ReportMetric(float64(mallocs)/spans, "allocs/span")
		})
	}
}
