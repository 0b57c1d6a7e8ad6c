package semconvprocessor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

func abCorpus(t *testing.T) []byte {
	files, _ := filepath.Glob("testdata/traces/faststream_*/input.json")
	pool := ptrace.NewSpanSlice()
	td := ptrace.NewTraces()
	var scope ptrace.ScopeSpans
	for _, f := range files {
		b, _ := os.ReadFile(f)
		in, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
		for i := 0; i < in.ResourceSpans().Len(); i++ {
			rs := in.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				if ss.Scope().Name() != "opentelemetry.instrumentation.faststream" {
					continue
				}
				if td.ResourceSpans().Len() == 0 {
					scope = td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
				}
				ss.Spans().MoveAndAppendTo(pool)
			}
		}
	}
	for i := range 512 {
		pool.At(i % pool.Len()).CopyTo(scope.Spans().AppendEmpty())
	}
	w, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	return w
}

func TestZZAB(t *testing.T) {
	if os.Getenv("AB") == "" {
		t.Skip()
	}
	wire := abCorpus(t)
	p := newTestProcessor(t, ModeReplace)
	var ds []time.Duration
	for range 3000 {
		td, _ := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
		s := time.Now()
		_, _ = p.processTraces(context.Background(), td)
		ds = append(ds, time.Since(s))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("AB min %.0f p10 %.0f p50 %.0f ns/span\n", float64(ds[0].Nanoseconds())/512, float64(ds[300].Nanoseconds())/512, float64(ds[1500].Nanoseconds())/512)
}

func BenchmarkZZCorpus(b *testing.B) {
	wire := abCorpus(nil)
	p := newTestProcessor(b, ModeReplace)
	tds := make([]ptrace.Traces, 64)
	for i := 0; i < b.N; i++ {
		if i%64 == 0 {
			b.StopTimer()
			for k := range tds {
				tds[k], _ = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
			}
			b.StartTimer()
		}
		_, _ = p.processTraces(context.Background(), tds[i%64])
	}
}

func TestZZPhases(t *testing.T) {
	if os.Getenv("AB") == "" {
		t.Skip()
	}
	wire := abCorpus(t)
	p := newTestProcessor(t, ModeReplace)
	measure := func(name string, f func(ptrace.SpanSlice)) {
		var ds []time.Duration
		for range 2000 {
			td, _ := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
			spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			s := time.Now()
			f(spans)
			ds = append(ds, time.Since(s))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("AB %-12s min %.0f p10 %.0f ns/span\n", name, float64(ds[0].Nanoseconds())/512, float64(ds[200].Nanoseconds())/512)
	}
	measure("iterate", func(ss ptrace.SpanSlice) {
		n := 0
		for i := 0; i < ss.Len(); i++ {
			for k := range ss.At(i).Attributes().All() {
				n += len(k)
			}
		}
	})
	measure("scan", func(ss ptrace.SpanSlice) {
		for i := 0; i < ss.Len(); i++ {
			var buf scanBuffers
			var fs facts
			_ = p.scanAttributes(ss.At(i).Attributes(), 1, &buf, &fs)
		}
	})
	measure("scan+rename", func(ss ptrace.SpanSlice) {
		var w workspace
		for i := 0; i < ss.Len(); i++ {
			var buf scanBuffers
			var fs facts
			sc := p.scanAttributes(ss.At(i).Attributes(), 1, &buf, &fs)
			p.applyRenames(ss.At(i).Attributes(), &sc, &fs, false, &w)
		}
	})
	measure("full", func(ss ptrace.SpanSlice) {
		var w workspace
		for i := 0; i < ss.Len(); i++ {
			p.migrateSpan(ss.At(i), &w)
		}
	})
}
