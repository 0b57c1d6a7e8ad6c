package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"
	"time"

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
	pool := ptrace.NewSpanSlice()
	td := ptrace.NewTraces()
	var scope ptrace.ScopeSpans
	for _, in := range goldenInputs(tb, "faststream_*") {
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

// goldenCorpus builds one batch of corpusSpans spans from every golden trace input of the semconv
// processor (every instrumentation family of its README; old conventions, messaging/dup and current
// spans): each scope of each input becomes one scope of
// the batch, under its own resource, and the inputs' spans are taken in turn, repeated, into their
// scopes. TestSameOutput checks that the equivalent OTTL configuration migrates it as the processor does.
func goldenCorpus(tb testing.TB) ptrace.Traces {
	tb.Helper()
	td := ptrace.NewTraces()
	type source struct {
		span  ptrace.Span
		scope ptrace.SpanSlice
	}
	var pool []source
	for _, in := range goldenInputs(tb, "*") {
		for i := 0; i < in.ResourceSpans().Len(); i++ {
			rs := in.ResourceSpans().At(i)
			nrs := td.ResourceSpans().AppendEmpty()
			rs.Resource().CopyTo(nrs.Resource())
			nrs.SetSchemaUrl(rs.SchemaUrl())
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				nss := nrs.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(nss.Scope())
				nss.SetSchemaUrl(ss.SchemaUrl())
				for k := 0; k < ss.Spans().Len(); k++ {
					pool = append(pool, source{ss.Spans().At(k), nss.Spans()})
				}
			}
		}
	}
	for i := range corpusSpans {
		src := pool[i%len(pool)]
		src.span.CopyTo(src.scope.AppendEmpty())
	}
	return td
}

// goldenInputs reads the input.json of the semconv processor's golden trace cases whose directory
// matches pattern.
func goldenInputs(tb testing.TB, pattern string) []ptrace.Traces {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "semconvprocessor", "testdata", "traces", pattern, "input.json"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	out := make([]ptrace.Traces, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(tb, err)
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
		require.NoError(tb, err)
		out = append(out, td)
	}
	return out
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

// newTransform returns transformprocessor configured with the named configuration of
// testdata/transform.yaml ("equivalent" or "faststream_only").
func newTransform(name string) func(testing.TB, *consumertest.TracesSink) processor.Traces {
	return func(tb testing.TB, next *consumertest.TracesSink) processor.Traces {
		tb.Helper()
		return createTransform(tb, name, next)
	}
}

func createTransform(tb testing.TB, name string, next *consumertest.TracesSink) processor.Traces {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "transform.yaml"))
	require.NoError(tb, err)
	f := transformprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(f.Type(), name).String())
	require.NoError(tb, err)
	require.NoError(tb, sub.Unmarshal(cfg))
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), nil))
	tb.Cleanup(func() { require.NoError(tb, p.Shutdown(context.Background())) })
	return p
}

// TestSameOutput checks that transformprocessor is configured equivalently: with the equivalent
// configuration it turns every golden trace input of the semconv processor into the same spans
// as the processor; with faststream_only, the benchmark batch.
func TestSameOutput(t *testing.T) {
	run := func(t *testing.T, newProc func(testing.TB, *consumertest.TracesSink) processor.Traces, td ptrace.Traces) []byte {
		sink := new(consumertest.TracesSink)
		p := newProc(t, sink)
		require.NoError(t, p.ConsumeTraces(context.Background(), td))
		require.Len(t, sink.AllTraces(), 1)
		return normalizeTraces(t, sink.AllTraces()[0])
	}
	inputs, err := filepath.Glob(filepath.Join("..", "semconvprocessor", "testdata", "traces", "*", "input.json"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, input := range inputs {
		t.Run(filepath.Base(filepath.Dir(input)), func(t *testing.T) {
			b, err := os.ReadFile(input)
			require.NoError(t, err)
			td := func() ptrace.Traces {
				td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
				require.NoError(t, err)
				return td
			}
			require.Equal(t, string(run(t, newSemconv, td())), string(run(t, newTransform("equivalent"), td())))
		})
	}
	t.Run("golden benchmark batch", func(t *testing.T) {
		semconv := run(t, newSemconv, goldenCorpus(t))
		require.NotEqual(t, string(normalizeTraces(t, goldenCorpus(t))), string(semconv), "the batch was not migrated")
		require.Equal(t, string(semconv), string(run(t, newTransform("equivalent"), goldenCorpus(t))))
	})
	t.Run("benchmark batch", func(t *testing.T) {
		semconv := run(t, newSemconv, fastStreamCorpus(t))
		require.NotEqual(t, string(normalizeTraces(t, fastStreamCorpus(t))), string(semconv), "the batch was not migrated")
		for _, name := range []string{"equivalent", "faststream_only"} {
			require.Equal(t, string(semconv), string(run(t, newTransform(name), fastStreamCorpus(t))), name)
		}
	})
}

func normalizeTraces(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
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

// BenchmarkFastStreamSpans runs the processors on the same batch of 512 old-convention FastStream
// spans. See benchmark for what is measured.
func BenchmarkFastStreamSpans(b *testing.B) {
	benchmark(b, fastStreamCorpus(b), "semconv", "transform", "transform_faststream_only")
}

// BenchmarkGoldenSpans runs the semconv processor and the equivalent transform configuration on a
// batch of 512 spans drawn from every golden trace input (see goldenCorpus). The FastStream-only
// configuration is not measured: it does not migrate this batch.
func BenchmarkGoldenSpans(b *testing.B) {
	benchmark(b, goldenCorpus(b), "semconv", "transform")
}

// BenchmarkCurrentSpans runs the processors on 512 spans that are already current (kafkajs
// instrumentation): the semconv processor does not allocate for them (the allocations per batch
// are processorhelper's own telemetry).
func BenchmarkCurrentSpans(b *testing.B) {
	benchmark(b, currentCorpus(b), "semconv", "transform", "transform_faststream_only")
}

// benchmark measures each processor on corpus. Every iteration decodes the batch from OTLP
// protobuf, as the otlp receiver does (so attribute slices have the capacities they have in a
// collector, and the batch is as warm in the CPU caches as after a receiver), then processes it.
//
//   - ns/op includes the decoding;
//   - ns/span is the processor alone: the median time of ConsumeTraces over the batches, divided
//     by the spans. The median, because on a shared machine a few batches take many times longer
//     (the process was descheduled, or paid for a garbage collection the decoding caused), and
//     the mean would measure the machine more than the processor;
//   - allocs/span is the processor alone, counted over 20 more batches after the timed loop
//     (reading memory statistics inside the loop would disturb what it measures).
func benchmark(b *testing.B, corpus ptrace.Traces, processors ...string) {
	wire, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(corpus)
	require.NoError(b, err)
	decode := func() ptrace.Traces {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
		require.NoError(b, err)
		return td
	}
	for _, bc := range []struct {
		name    string
		newProc func(testing.TB, *consumertest.TracesSink) processor.Traces
	}{
		{"semconv", newSemconv},
		{"transform", newTransform("equivalent")},
		{"transform_faststream_only", newTransform("faststream_only")},
	} {
		if !slices.Contains(processors, bc.name) {
			continue
		}
		b.Run(bc.name, func(b *testing.B) {
			sink := new(consumertest.TracesSink)
			p := bc.newProc(b, sink)
			consume := func(td ptrace.Traces) {
				sink.Reset()
				if err := p.ConsumeTraces(context.Background(), td); err != nil {
					b.Fatal(err)
				}
			}
			var durations []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				td := decode()
				start := time.Now()
				consume(td)
				durations = append(durations, time.Since(start))
			}
			b.ReportMetric(float64(median(durations).Nanoseconds())/corpusSpans, "ns/span")

			const rounds = 20
			var mallocs uint64
			var ms runtime.MemStats
			for range rounds {
				td := decode()
				runtime.ReadMemStats(&ms)
				before := ms.Mallocs
				consume(td)
				runtime.ReadMemStats(&ms)
				mallocs += ms.Mallocs - before
			}
			b.ReportMetric(float64(mallocs)/float64(rounds*corpusSpans), "allocs/span")
		})
	}
}

func median(d []time.Duration) time.Duration {
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}
