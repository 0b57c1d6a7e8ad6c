package msgtracereceiver

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// The bad-input cases no broker test reaches cheaply (exact clock skew,
// destinations that are not UTF-8, the other span shapes), at the span
// model, and the bounds on what one message can make it allocate.

var (
	skewObserved = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	skewProduced = skewObserved.Add(-time.Second)
)

func skewMsg(mutate func(*message.Message)) message.Message {
	m := message.Message{
		System: "redis", Destination: "orders", Identity: "0/orders/1-0", ID: "m-1",
		Timestamp: skewProduced, Observed: skewObserved, BodySize: 3, ConsumerGroup: "tap",
	}
	mutate(&m)
	return m
}

// spanShape summarises what Build made of one message.
type spanShape struct {
	sends, receives, links int
	receiveParented        bool // the receive span has a parent span
}

func shapeOf(td ptrace.Traces) (spanShape, []ptrace.Span) {
	var sh spanShape
	var spans []ptrace.Span
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		ss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < ss.Len(); j++ {
			for k := 0; k < ss.At(j).Spans().Len(); k++ {
				s := ss.At(j).Spans().At(k)
				spans = append(spans, s)
				switch s.Kind() {
				case ptrace.SpanKindProducer:
					sh.sends++
				case ptrace.SpanKindClient:
					sh.receives++
					sh.links += s.Links().Len()
					sh.receiveParented = !s.ParentSpanID().IsEmpty()
				}
			}
		}
	}
	return sh, spans
}

func TestBadInputSpanModel(t *testing.T) {
	tp := traceparent.Format(badCtx)
	future := "cc-" + tp[3:55] + "-more-fields"
	perMessage := spanmodel.Options{Rebuild: spanmodel.RebuildMissing, Receive: spanmodel.ReceiveMessage, Correlation: spanmodel.CorrelationParent, SamplingRatio: 1}
	batch, never, link := perMessage, perMessage, perMessage
	batch.Receive = spanmodel.ReceiveBatch
	never.Rebuild = spanmodel.RebuildNever
	link.Correlation = spanmodel.CorrelationLink

	tests := []struct {
		name   string
		opts   spanmodel.Options
		msg    func(*message.Message)
		faults spanmodel.Faults
		shape  spanShape
		check  func(t *testing.T, spans []ptrace.Span)
	}{
		{
			name: "timestamp after the observation (start after end)", opts: perMessage,
			msg:    func(m *message.Message) { m.Timestamp = skewObserved.Add(time.Nanosecond) },
			faults: spanmodel.Faults{Timestamp: 1}, shape: spanShape{sends: 1, receives: 1, receiveParented: true},
			check: func(t *testing.T, spans []ptrace.Span) {
				for _, s := range spans {
					assert.Equal(t, skewObserved, s.StartTimestamp().AsTime(), "%s starts at the observed time", s.Name())
					assert.LessOrEqual(t, s.StartTimestamp(), s.EndTimestamp())
				}
			},
		},
		{
			name: "timestamp equal to the observation", opts: perMessage,
			msg:   func(m *message.Message) { m.Timestamp = skewObserved },
			shape: spanShape{sends: 1, receives: 1, receiveParented: true},
		},
		{
			name: "timestamp far in the future", opts: batch,
			msg:    func(m *message.Message) { m.Timestamp = skewObserved.AddDate(30, 0, 0); m.TraceParent = tp },
			faults: spanmodel.Faults{Timestamp: 1}, shape: spanShape{receives: 1, links: 1},
			check: func(t *testing.T, spans []ptrace.Span) {
				assert.Equal(t, spans[0].EndTimestamp(), spans[0].StartTimestamp())
			},
		},
		{
			name: "timestamp before 1970", opts: perMessage,
			msg:    func(m *message.Message) { m.Timestamp = time.Unix(-1, 0) },
			faults: spanmodel.Faults{Timestamp: 1}, shape: spanShape{sends: 1, receives: 1, receiveParented: true},
		},
		{
			name: "no timestamp (broker keeps none) is no fault", opts: perMessage,
			msg:   func(m *message.Message) { m.Timestamp = time.Time{} },
			shape: spanShape{sends: 1, receives: 1, receiveParented: true},
			check: func(t *testing.T, spans []ptrace.Span) {
				assert.Equal(t, skewObserved, spans[0].StartTimestamp().AsTime())
			},
		},
		{
			name: "destination not UTF-8 (a Redis channel is any bytes)", opts: perMessage,
			msg:    func(m *message.Message) { m.Destination = "ord\xffers" },
			faults: spanmodel.Faults{Header: 1}, shape: spanShape{sends: 1, receives: 1, receiveParented: true},
			check: func(t *testing.T, spans []ptrace.Span) {
				for _, s := range spans {
					assert.Contains(t, s.Name(), "ord\uFFFDers")
					assert.Equal(t, "ord\uFFFDers", attr(s, "messaging.destination.name"))
				}
			},
		},
		{
			name: "traceparent of blanks", opts: perMessage,
			msg:    func(m *message.Message) { m.TraceParent = " \t " },
			faults: spanmodel.Faults{TraceParent: 1}, shape: spanShape{sends: 1, receives: 1, receiveParented: true},
		},
		{
			name: "malformed traceparent, rebuild never: a receive span of its own", opts: never,
			msg:    func(m *message.Message) { m.TraceParent = "ff" + tp[2:] },
			faults: spanmodel.Faults{TraceParent: 1}, shape: spanShape{receives: 1},
		},
		{
			name: "malformed traceparent in batch mode: linked to the rebuilt send span", opts: batch,
			msg:    func(m *message.Message) { m.TraceParent = strings.ToUpper(tp) },
			faults: spanmodel.Faults{TraceParent: 1}, shape: spanShape{sends: 1, receives: 1, links: 1},
		},
		{
			name: "future traceparent version, link correlation", opts: link,
			msg:   func(m *message.Message) { m.TraceParent = future },
			shape: spanShape{receives: 1, links: 1},
			check: func(t *testing.T, spans []ptrace.Span) {
				assert.Equal(t, badCtx.TraceID, spans[0].Links().At(0).TraceID())
			},
		},
		{
			name: "tracestate over the size limit", opts: perMessage,
			msg:    func(m *message.Message) { m.TraceParent = tp; m.TraceState = "a=" + strings.Repeat("b", 2000) },
			faults: spanmodel.Faults{TraceState: 1}, shape: spanShape{receives: 1, receiveParented: true},
		},
		{
			name: "tracestate with 33 members", opts: perMessage,
			msg: func(m *message.Message) {
				m.TraceParent = tp
				var ms []string
				for i := range 33 {
					ms = append(ms, string(rune('a'+i%26))+strings.Repeat("x", i/26)+"=v")
				}
				m.TraceState = strings.Join(ms, ",")
			},
			faults: spanmodel.Faults{TraceState: 1}, shape: spanShape{receives: 1, receiveParented: true},
		},
		{
			name: "tracestate not UTF-8", opts: perMessage,
			msg:    func(m *message.Message) { m.TraceParent = tp; m.TraceState = "a=\xff" },
			faults: spanmodel.Faults{TraceState: 1}, shape: spanShape{receives: 1, receiveParented: true},
		},
		{
			name: "baggage of separators only", opts: perMessage,
			msg:   func(m *message.Message) { m.TraceParent = tp; m.Baggage = ",, ,\t," },
			shape: spanShape{receives: 1, receiveParented: true},
		},
		{
			name: "baggage damaged, batch mode: the link keeps the good members", opts: batch,
			msg:    func(m *message.Message) { m.TraceParent = tp; m.Baggage = "tenant=acme,k=" + bgSecret + " x" },
			faults: spanmodel.Faults{Baggage: 1}, shape: spanShape{receives: 1, links: 1},
			check: func(t *testing.T, spans []ptrace.Span) {
				v, ok := spans[0].Links().At(0).Attributes().Get("baggage.tenant")
				require.True(t, ok)
				assert.Equal(t, "acme", v.Str())
			},
		},
		{
			name: "unsampled context: no span, and the rest is not read", opts: perMessage,
			msg:   func(m *message.Message) { m.TraceParent = tp[:54] + "0"; m.Baggage = "=bad" },
			shape: spanShape{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			opts := tt.opts
			opts.Logger = zap.New(core)
			td, faults := spanmodel.New(opts).Build([]message.Message{skewMsg(tt.msg)})
			shape, spans := shapeOf(td)
			assert.Equal(t, tt.shape, shape)
			assert.Equal(t, tt.faults, faults)
			n := 0
			faults.Each(func(string, int) { n++ })
			assert.GreaterOrEqual(t, logs.FilterLevelExact(zapcore.DebugLevel).Len(), n, "each fault is logged at debug")
			for _, e := range logs.All() {
				for _, f := range e.Context {
					assert.NotContains(t, f.String, bgSecret, "a log field reveals a baggage value")
				}
			}
			if tt.check != nil {
				tt.check(t, spans)
			}
		})
	}
}

// Limits on what one message makes the span model allocate. Whatever its
// headers weigh, a message costs at most: the traceparent (fixed length),
// a tracestate of 512 bytes (a longer one is dropped), 180 baggage members
// within 8192 bytes, and its ID strings as they came. The body is never
// read, only its size. The check: a message with 3 MiB of oversized W3C
// headers costs the builder no more than one whose headers sit at the limits
// (and keep the same 180 baggage members).
func TestBadInputAllocationBounds(t *testing.T) {
	tp := traceparent.Format(badCtx)
	opts := spanmodel.Options{Rebuild: spanmodel.RebuildMissing, Receive: spanmodel.ReceiveMessage, Correlation: spanmodel.CorrelationParent, SamplingRatio: 1}
	b := spanmodel.New(opts)
	allocated := func(m message.Message) uint64 {
		msgs := []message.Message{m}
		b.Build(msgs) // warm up
		var before, after runtime.MemStats
		const runs = 20
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range runs {
			b.Build(msgs)
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	members := func(n int) string { return strings.TrimSuffix(strings.Repeat("k=v,", n), ",") }
	atLimit := allocated(skewMsg(func(m *message.Message) {
		m.TraceParent = tp
		m.TraceState = "a=" + strings.Repeat("b", 256) + ",c=" + strings.Repeat("d", 250)
		m.Baggage = members(180)
	}))
	huge := allocated(skewMsg(func(m *message.Message) {
		m.TraceParent = tp[:55] + "-" + strings.Repeat("x", 1<<20) // version 00 with an extra field: malformed
		m.TraceParent = "01" + m.TraceParent[2:]                   // a future version: valid, the rest ignored
		m.TraceState = strings.Repeat("a=1,", 1<<18)
		m.Baggage = members(1 << 18)
		m.BodySize = 1 << 30
	}))
	t.Logf("bytes allocated per message: headers at the limits %d, 3 MiB of headers %d", atLimit, huge)
	assert.Less(t, huge, atLimit+atLimit/2, "oversized headers must not cost in proportion to their size")
}
