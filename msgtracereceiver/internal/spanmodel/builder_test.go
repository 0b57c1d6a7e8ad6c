package spanmodel

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

const (
	group = "otelcol-msgtrace"
	// A sampled producer context (W3C example).
	tpSampled   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tpUnsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
)

var (
	ctxTrace = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	ctxSpan  = pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	produced = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	observed = produced.Add(250 * time.Millisecond)
)

// kafkaMsg is a record of topic orders, partition 3.
func kafkaMsg(offset int64, mutate func(*message.Message)) message.Message {
	m := message.Message{
		System:        "kafka",
		Destination:   "orders",
		Partition:     "3",
		Identity:      fmt.Sprintf("cluster-1/orders/3/%d", offset),
		ID:            fmt.Sprintf("id-%d", offset),
		Timestamp:     produced,
		Observed:      observed,
		BodySize:      200,
		ConsumerGroup: group,
		ServerAddress: "kafka-1",
		ServerPort:    9092,
		Attributes:    []attribute.KeyValue{semconv.MessagingKafkaOffset(int(offset))},
	}
	if mutate != nil {
		mutate(&m)
	}
	return m
}

func withTraceParent(tp string) func(*message.Message) {
	return func(m *message.Message) { m.TraceParent = tp }
}

// destAttrs are the attributes every span of an orders/3 record carries.
func destAttrs(op string) map[string]any {
	return map[string]any{
		"messaging.system":                   "kafka",
		"messaging.operation.type":           op,
		"messaging.operation.name":           op,
		"messaging.destination.name":         "orders",
		"messaging.destination.partition.id": "3",
		"server.address":                     "kafka-1",
		"server.port":                        int64(9092),
	}
}

func msgAttrs(offset int64) map[string]any {
	return map[string]any{
		"messaging.message.id":        fmt.Sprintf("id-%d", offset),
		"messaging.message.body.size": int64(200),
		"messaging.kafka.offset":      offset,
	}
}

func merge(maps ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// wantSpan is the expected shape of one span.
type wantSpan struct {
	name       string
	kind       ptrace.SpanKind
	traceID    pcommon.TraceID
	spanID     pcommon.SpanID
	parent     pcommon.SpanID
	traceState string
	flags      uint32
	start, end time.Time
	attrs      map[string]any
	links      []wantLink
}

type wantLink struct {
	traceID    pcommon.TraceID
	spanID     pcommon.SpanID
	traceState string
	flags      uint32
	attrs      map[string]any
}

func rebuiltSend(offset int64) wantSpan {
	id := fmt.Sprintf("cluster-1/orders/3/%d", offset)
	return wantSpan{
		name: "send orders", kind: ptrace.SpanKindProducer,
		traceID: SendTraceID(id), spanID: SendSpanID(id), flags: flagsLocal,
		start: produced, end: produced,
		attrs: merge(destAttrs("send"), msgAttrs(offset)),
	}
}

func receiveOf(offset int64, traceID pcommon.TraceID, parent pcommon.SpanID, flags uint32, extra map[string]any) wantSpan {
	id := fmt.Sprintf("cluster-1/orders/3/%d", offset)
	return wantSpan{
		name: "receive orders", kind: ptrace.SpanKindClient,
		traceID: traceID, spanID: ReceiveSpanID(group, id), parent: parent, flags: flags,
		start: produced, end: observed,
		attrs: merge(destAttrs("receive"), msgAttrs(offset), map[string]any{"messaging.consumer.group.name": group}, extra),
	}
}

func TestBuild(t *testing.T) {
	id0, id1 := "cluster-1/orders/3/0", "cluster-1/orders/3/1"
	tests := []struct {
		name   string
		opts   Options
		msgs   []message.Message
		want   []wantSpan
		faults Faults
	}{
		{
			name: "context: receive span parented on the producer",
			msgs: []message.Message{kafkaMsg(0, func(m *message.Message) {
				m.TraceParent, m.TraceState = tpSampled, "congo=t61rcWkgMzE"
				m.Baggage = "tenant=acme,user.name=J%C3%BCrgen+M"
				m.ConversationID = "conv-7"
			})},
			want: []wantSpan{func() wantSpan {
				w := receiveOf(0, ctxTrace, ctxSpan, flagsRemote, map[string]any{
					"messaging.message.conversation_id": "conv-7",
					"baggage.tenant":                    "acme",
					"baggage.user.name":                 "Jürgen M",
				})
				w.traceState = "congo=t61rcWkgMzE"
				return w
			}()},
		},
		{
			name: "no context: rebuilt send span and its receive child",
			msgs: []message.Message{kafkaMsg(0, nil)},
			want: []wantSpan{rebuiltSend(0), receiveOf(0, SendTraceID(id0), SendSpanID(id0), flagsLocal, nil)},
		},
		{
			name: "sampled=0: no spans",
			msgs: []message.Message{kafkaMsg(0, withTraceParent(tpUnsampled))},
		},
		{
			name:   "malformed traceparent: rebuilt and counted",
			msgs:   []message.Message{kafkaMsg(0, withTraceParent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"))},
			want:   []wantSpan{rebuiltSend(0), receiveOf(0, SendTraceID(id0), SendSpanID(id0), flagsLocal, nil)},
			faults: Faults{TraceParent: 1},
		},
		{
			name:   "malformed tracestate: dropped, traceparent stands",
			msgs:   []message.Message{kafkaMsg(0, func(m *message.Message) { m.TraceParent, m.TraceState = tpSampled, "UPPER=1" })},
			want:   []wantSpan{receiveOf(0, ctxTrace, ctxSpan, flagsRemote, nil)},
			faults: Faults{TraceState: 1},
		},
		{
			name:   "damaged baggage: well-formed members kept, counted",
			msgs:   []message.Message{kafkaMsg(0, func(m *message.Message) { m.TraceParent, m.Baggage = tpSampled, "ok=1,broken,bad=%zz" })},
			want:   []wantSpan{receiveOf(0, ctxTrace, ctxSpan, flagsRemote, map[string]any{"baggage.ok": "1"})},
			faults: Faults{Baggage: 1},
		},
		{
			name: "IDs that are not UTF-8: invalid bytes replaced, counted",
			msgs: []message.Message{kafkaMsg(0, func(m *message.Message) {
				m.TraceParent, m.ID, m.ConversationID = tpSampled, "id-0\xff", "c\xfe"
			})},
			want: []wantSpan{receiveOf(0, ctxTrace, ctxSpan, flagsRemote, map[string]any{
				"messaging.message.id":              "id-0\uFFFD",
				"messaging.message.conversation_id": "c\uFFFD",
			})},
			faults: Faults{Header: 1},
		},
		{
			name: "destination that is not UTF-8: invalid bytes replaced, counted",
			msgs: []message.Message{kafkaMsg(0, func(m *message.Message) { m.TraceParent, m.Destination = tpSampled, "ord\xffers" })},
			want: []wantSpan{func() wantSpan {
				w := receiveOf(0, ctxTrace, ctxSpan, flagsRemote, map[string]any{"messaging.destination.name": "ord\uFFFDers"})
				w.name = "receive ord\uFFFDers"
				return w
			}()},
			faults: Faults{Header: 1},
		},
		{
			name: "rebuild always: send span child of the producer context",
			opts: Options{Rebuild: RebuildAlways},
			msgs: []message.Message{kafkaMsg(0, withTraceParent(tpSampled))},
			want: []wantSpan{
				func() wantSpan {
					w := rebuiltSend(0)
					w.traceID, w.parent, w.flags = ctxTrace, ctxSpan, flagsRemote
					return w
				}(),
				receiveOf(0, ctxTrace, SendSpanID(id0), flagsLocal, nil),
			},
		},
		{
			name: "rebuild never: receive span starts its own trace",
			opts: Options{Rebuild: RebuildNever},
			msgs: []message.Message{kafkaMsg(0, nil)},
			want: []wantSpan{receiveOf(0, ReceiveTraceID(group, id0), pcommon.SpanID{}, flagsLocal, nil)},
		},
		{
			name: "correlation link: own trace, link to the producer",
			opts: Options{Correlation: CorrelationLink},
			msgs: []message.Message{kafkaMsg(0, func(m *message.Message) { m.TraceParent, m.TraceState = tpSampled, "a=1" })},
			want: []wantSpan{func() wantSpan {
				w := receiveOf(0, ReceiveTraceID(group, id0), pcommon.SpanID{}, flagsLocal, nil)
				w.links = []wantLink{{traceID: ctxTrace, spanID: ctxSpan, traceState: "a=1", flags: flagsRemote, attrs: map[string]any{}}}
				return w
			}()},
		},
		{
			name: "unusable timestamps: observed time used, skew and pre-1970 counted",
			msgs: []message.Message{
				kafkaMsg(0, func(m *message.Message) { m.TraceParent, m.Timestamp = tpSampled, time.Time{} }),
				kafkaMsg(1, func(m *message.Message) { m.TraceParent, m.Timestamp = tpSampled, observed.Add(time.Hour) }),
				kafkaMsg(2, func(m *message.Message) { m.TraceParent, m.Timestamp = tpSampled, time.UnixMilli(-1) }),
			},
			want: []wantSpan{
				func() wantSpan { w := receiveOf(0, ctxTrace, ctxSpan, flagsRemote, nil); w.start = observed; return w }(),
				func() wantSpan { w := receiveOf(1, ctxTrace, ctxSpan, flagsRemote, nil); w.start = observed; return w }(),
				func() wantSpan { w := receiveOf(2, ctxTrace, ctxSpan, flagsRemote, nil); w.start = observed; return w }(),
			},
			faults: Faults{Timestamp: 2},
		},
		{
			name: "sampling ratio 0: rebuilt roots dropped, producer decisions kept",
			opts: Options{SamplingRatio: 0},
			msgs: []message.Message{kafkaMsg(0, nil), kafkaMsg(1, withTraceParent(tpSampled))},
			want: []wantSpan{receiveOf(1, ctxTrace, ctxSpan, flagsRemote, nil)},
		},
		{
			name: "batch: one span, one link per sampled message, rebuilt sends",
			opts: Options{Receive: ReceiveBatch},
			msgs: []message.Message{
				kafkaMsg(0, func(m *message.Message) { m.TraceParent, m.Baggage = tpSampled, "with_batch=True,tenant=a" }),
				kafkaMsg(1, func(m *message.Message) { m.Baggage = "tenant=b" }),
				kafkaMsg(2, withTraceParent(tpUnsampled)),
			},
			want: []wantSpan{
				{
					name: "receive orders", kind: ptrace.SpanKindClient,
					traceID: BatchTraceID(group, id0, "cluster-1/orders/3/2"), spanID: BatchSpanID(group, id0, "cluster-1/orders/3/2"),
					flags: flagsLocal, start: produced, end: observed,
					attrs: merge(destAttrs("receive"), map[string]any{
						"messaging.consumer.group.name": group,
						"messaging.batch.message_count": int64(3),
					}),
					links: []wantLink{
						{traceID: ctxTrace, spanID: ctxSpan, flags: flagsRemote, attrs: merge(msgAttrs(0), map[string]any{"baggage.with_batch": "True", "baggage.tenant": "a"})},
						{traceID: SendTraceID(id1), spanID: SendSpanID(id1), flags: flagsLocal, attrs: merge(msgAttrs(1), map[string]any{"baggage.tenant": "b"})},
					},
				},
				rebuiltSend(1),
			},
		},
		{
			name: "batch: every message unsampled, no span",
			opts: Options{Receive: ReceiveBatch},
			msgs: []message.Message{kafkaMsg(0, withTraceParent(tpUnsampled)), kafkaMsg(1, withTraceParent(tpUnsampled))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.Rebuild == "" {
				opts.Rebuild = RebuildMissing
			}
			if opts.Receive == "" {
				opts.Receive = ReceiveMessage
			}
			if opts.Correlation == "" {
				opts.Correlation = CorrelationParent
			}
			if tt.name != "sampling ratio 0: rebuilt roots dropped, producer decisions kept" {
				opts.SamplingRatio = 1
			}
			opts.ScopeName, opts.ScopeVersion, opts.ServiceName = "scope", "v1", "otelcol-msg"
			td, faults := New(opts).Build(tt.msgs)
			assert.Equal(t, tt.faults, faults)

			require.Equal(t, 1, td.ResourceSpans().Len())
			rs := td.ResourceSpans().At(0)
			assert.Equal(t, map[string]any{"service.name": "otelcol-msg"}, rs.Resource().Attributes().AsRaw())
			ss := rs.ScopeSpans().At(0)
			assert.Equal(t, SchemaURL, ss.SchemaUrl())
			assert.Equal(t, "scope", ss.Scope().Name())
			assert.Equal(t, "v1", ss.Scope().Version())

			require.Equal(t, len(tt.want), ss.Spans().Len())
			for i, w := range tt.want {
				assertSpan(t, w, ss.Spans().At(i))
			}
		})
	}
}

func assertSpan(t *testing.T, w wantSpan, s ptrace.Span) {
	t.Helper()
	assert.Equal(t, w.name, s.Name())
	assert.Equal(t, w.kind, s.Kind())
	assert.Equal(t, w.traceID, s.TraceID(), "trace id of %s", w.name)
	assert.Equal(t, w.spanID, s.SpanID(), "span id of %s", w.name)
	assert.Equal(t, w.parent, s.ParentSpanID(), "parent of %s", w.name)
	assert.Equal(t, w.traceState, s.TraceState().AsRaw())
	assert.Equal(t, w.flags, s.Flags())
	assert.Equal(t, pcommon.NewTimestampFromTime(w.start), s.StartTimestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(w.end), s.EndTimestamp())
	assert.Equal(t, w.attrs, s.Attributes().AsRaw())
	require.Equal(t, len(w.links), s.Links().Len())
	for i, wl := range w.links {
		l := s.Links().At(i)
		assert.Equal(t, wl.traceID, l.TraceID())
		assert.Equal(t, wl.spanID, l.SpanID())
		assert.Equal(t, wl.traceState, l.TraceState().AsRaw())
		assert.Equal(t, wl.flags, l.Flags())
		assert.Equal(t, wl.attrs, l.Attributes().AsRaw())
	}
}

// Two partitions in one delivery get one batch span each.
func TestBuildBatchPerPartition(t *testing.T) {
	msgs := []message.Message{
		kafkaMsg(0, nil),
		kafkaMsg(0, func(m *message.Message) { m.Partition, m.Identity = "4", "cluster-1/orders/4/0" }),
		kafkaMsg(1, nil),
	}
	td, _ := New(Options{Rebuild: RebuildNever, Receive: ReceiveBatch, Correlation: CorrelationParent, SamplingRatio: 1}).Build(msgs)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	require.Equal(t, 2, spans.Len())
	counts := map[string]int64{}
	for i := 0; i < spans.Len(); i++ {
		s := spans.At(i)
		p, _ := s.Attributes().Get("messaging.destination.partition.id")
		n, _ := s.Attributes().Get("messaging.batch.message_count")
		counts[p.Str()] = n.Int()
		assert.Equal(t, 0, s.Links().Len(), "rebuild never: no creation context to link")
	}
	assert.Equal(t, map[string]int64{"3": 2, "4": 1}, counts)
	assert.Equal(t, BatchSpanID(group, "cluster-1/orders/3/0", "cluster-1/orders/3/1"), spans.At(0).SpanID())
}

// The same messages always give the same spans, IDs included: a message read
// again after a crash is a duplicate a backend can collapse.
func TestBuildIsDeterministic(t *testing.T) {
	for _, receive := range []Receive{ReceiveMessage, ReceiveBatch} {
		b := New(Options{Rebuild: RebuildMissing, Receive: receive, Correlation: CorrelationParent, SamplingRatio: 1})
		msgs := []message.Message{kafkaMsg(0, nil), kafkaMsg(1, withTraceParent(tpSampled)), kafkaMsg(2, nil)}
		first, _ := b.Build(msgs)
		second, _ := b.Build(msgs)
		var m ptrace.ProtoMarshaler
		a, err := m.MarshalTraces(first)
		require.NoError(t, err)
		c, err := m.MarshalTraces(second)
		require.NoError(t, err)
		assert.Equal(t, a, c, string(receive))
	}
}

// Receive span IDs depend on the consumer group: two taps, two observations.
func TestReceiveIDsDependOnGroup(t *testing.T) {
	assert.NotEqual(t, ReceiveSpanID("a", "x/t/0/1"), ReceiveSpanID("b", "x/t/0/1"))
	assert.NotEqual(t, ReceiveSpanID("a", "x/t/0/1"), ReceiveSpanID("a", "x/t/0/2"))
	// The separator keeps ("ab","c") and ("a","bc") apart.
	assert.NotEqual(t, ReceiveSpanID("ab", "c"), ReceiveSpanID("a", "bc"))
	assert.NotEqual(t, SendSpanID("x/t/0/1"), ReceiveSpanID("", "x/t/0/1"))
}

// The ratio keeps about its share of rebuilt traces, and the decision for
// one identity never changes.
func TestSamplingRatio(t *testing.T) {
	const n = 10000
	b := New(Options{Rebuild: RebuildMissing, Receive: ReceiveMessage, Correlation: CorrelationParent, SamplingRatio: 0.25})
	msgs := make([]message.Message, n)
	for i := range msgs {
		msgs[i] = kafkaMsg(int64(i), nil)
	}
	td, _ := b.Build(msgs)
	kept := td.SpanCount() / 2 // send + receive per kept message
	assert.InDelta(t, n/4, kept, n*0.02, "kept %d of %d", kept, n)
	again, _ := b.Build(msgs)
	assert.Equal(t, td.SpanCount(), again.SpanCount())
}
