package spanmodel

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// TestCreationMatchesBuild checks that Creation names the context the
// receive span of Build refers to (its parent), for every rebuild mode and
// kind of traceparent, and drops what Build drops.
func TestCreationMatchesBuild(t *testing.T) {
	tps := []string{
		"",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
		"garbage",
	}
	for _, rebuild := range []Rebuild{RebuildMissing, RebuildAlways, RebuildNever} {
		for _, ratio := range []float64{1, 0.5} {
			b := New(Options{Rebuild: rebuild, Receive: ReceiveMessage, Correlation: CorrelationParent, SamplingRatio: ratio})
			for _, tp := range tps {
				for off := int64(0); off < 16; off++ {
					m := kafkaMsg(off, withTraceParent(tp))
					c := b.Creation(&m)
					td, _ := b.Build([]message.Message{m})
					recv, ok := receiveSpan(td)
					if ok != c.Keep {
						t.Fatalf("%s %v %q: Build kept %v, Creation %v", rebuild, ratio, tp, ok, c.Keep)
					}
					if !ok {
						continue
					}
					if recv.ParentSpanID() != c.SpanID {
						t.Fatalf("%s %q: receive parent %s, Creation %s", rebuild, tp, recv.ParentSpanID(), c.SpanID)
					}
					if !c.SpanID.IsEmpty() && recv.TraceID() != c.TraceID {
						t.Fatalf("%s %q: receive trace %s, Creation %s", rebuild, tp, recv.TraceID(), c.TraceID)
					}
				}
			}
		}
	}
}

func receiveSpan(td ptrace.Traces) (ptrace.Span, bool) {
	ss := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < ss.Len(); i++ {
		if ss.At(i).Kind() == ptrace.SpanKindClient {
			return ss.At(i), true
		}
	}
	return ptrace.Span{}, false
}
