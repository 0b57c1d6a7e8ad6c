package semconvprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

func BenchmarkZZProf(b *testing.B) {
	p := newTestProcessor(b, ModeReplace)
	src := benchTraces(b, fastStreamSpan, benchSpans)
	copies := make([]ptrace.Traces, 400)
	for i := range copies {
		copies[i] = ptrace.NewTraces()
		src.CopyTo(copies[i])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = p.processTraces(context.Background(), copies[i%400])
	}
}
