package spanmodel

import (
	"testing"
	"time"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// FuzzBuild feeds arbitrary header values and timestamps through the span
// model: it must never panic, a message yields its receive span unless its
// traceparent says sampled=0, and no span ends before it starts.
func FuzzBuild(f *testing.F) {
	f.Add(tpSampled, "congo=t61rcWkgMzE", "tenant=acme,user=J%C3%BCrgen", int64(0), false)
	f.Add(tpUnsampled, "", "", int64(-1), true)
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "UPPER=1", "a=%zz,,b", int64(3600), false)
	f.Add("", "", "k=v;prop=1,=x,"+string([]byte{0xff}), int64(-3600), true)
	f.Fuzz(func(t *testing.T, tp, ts, bg string, skewSeconds int64, batch bool) {
		opts := Options{Rebuild: RebuildMissing, Receive: ReceiveMessage, Correlation: CorrelationParent, SamplingRatio: 1}
		if batch {
			opts.Receive = ReceiveBatch
		}
		m := kafkaMsg(0, func(m *message.Message) {
			m.TraceParent, m.TraceState, m.Baggage = tp, ts, bg
			m.Timestamp = observed.Add(time.Duration(skewSeconds) * time.Second)
		})
		td, faults := New(opts).Build([]message.Message{m})

		pc, err := traceparent.Parse(tp)
		if (tp != "" && err != nil) != (faults.TraceParent == 1) {
			t.Fatalf("traceparent %q: parse error %v but %d faults", tp, err, faults.TraceParent)
		}
		receives := 0
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			s := spans.At(i)
			if s.EndTimestamp() < s.StartTimestamp() {
				t.Fatalf("span %q ends before it starts", s.Name())
			}
			if s.Name() == "receive orders" {
				receives++
			}
		}
		unsampled := err == nil && !pc.Sampled()
		if unsampled && receives != 0 || !unsampled && receives != 1 {
			t.Fatalf("traceparent %q (unsampled=%v): %d receive spans", tp, unsampled, receives)
		}
	})
}
