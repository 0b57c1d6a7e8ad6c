package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
)

func TestZZAB(t *testing.T) {
	if os.Getenv("AB") == "" {
		t.Skip()
	}
	wire, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(fastStreamCorpus(t))
	for _, c := range []struct {
		n string
		f func(testing.TB, *consumertest.TracesSink) processor.Traces
	}{{"semconv", newSemconv}, {"transform", newTransform("equivalent")}, {"transform_fs", newTransform("faststream_only")}} {
		sink := new(consumertest.TracesSink)
		p := c.f(t, sink)
		var ds []time.Duration
		for range 1500 {
			td, _ := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
			sink.Reset()
			s := time.Now()
			_ = p.ConsumeTraces(context.Background(), td)
			ds = append(ds, time.Since(s))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("AB %s min %.0f p10 %.0f p50 %.0f ns/span\n", c.n, float64(ds[0].Nanoseconds())/512, float64(ds[150].Nanoseconds())/512, float64(ds[750].Nanoseconds())/512)
	}
}
