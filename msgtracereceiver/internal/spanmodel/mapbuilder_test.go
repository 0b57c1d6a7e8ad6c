package spanmodel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"

	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// TestMapBuilderMatchesPut checks that writing attributes with
// xpdata.MapBuilder (buildAttrs) yields the very spans the Put family does,
// byte for byte once encoded, in every mode and with what could make keys
// collide: repeated baggage keys, every attribute type, no IDs.
func TestMapBuilderMatchesPut(t *testing.T) {
	msgs := []message.Message{
		kafkaMsg(1, withTraceParent(tpSampled)),
		kafkaMsg(2, nil), // rebuilt send span
		kafkaMsg(3, func(m *message.Message) {
			m.TraceParent = tpSampled
			m.TraceState = "vendor=x"
			m.ConversationID = "conv-3"
			m.Baggage = "tenant=a,user=u1,tenant=b"
		}),
		kafkaMsg(4, func(m *message.Message) {
			m.ID = ""
			m.Baggage = "tenant=a,user=u1"
			m.Attributes = append(m.Attributes,
				attribute.Bool("messaging.kafka.message.tombstone", true),
				attribute.Float64("x.ratio", 0.5),
				attribute.StringSlice("x.strs", []string{"a", "b"}),
				attribute.Int64Slice("x.ints", []int64{1, 2}),
				attribute.BoolSlice("x.bools", []bool{true}),
				attribute.Float64Slice("x.floats", []float64{1.5}))
		}),
		kafkaMsg(5, func(m *message.Message) { m.Partition = "4"; m.Baggage = "k=v,k=w,k=x" }),
	}
	for _, opts := range []Options{
		{Rebuild: RebuildMissing, Receive: ReceiveMessage, Correlation: CorrelationParent, SamplingRatio: 1},
		{Rebuild: RebuildAlways, Receive: ReceiveMessage, Correlation: CorrelationLink, SamplingRatio: 1},
		{Rebuild: RebuildMissing, Receive: ReceiveBatch, Correlation: CorrelationParent, SamplingRatio: 1},
	} {
		t.Run(string(opts.Rebuild)+"/"+string(opts.Receive)+"/"+string(opts.Correlation), func(t *testing.T) {
			put := New(opts)
			mb := New(opts)
			mb.mapBuilder = true
			want, wantFaults := put.Build(msgs)
			got, gotFaults := mb.Build(msgs)
			assert.Equal(t, wantFaults, gotFaults)
			require.Positive(t, want.SpanCount())
			var enc ptrace.ProtoMarshaler
			wantBytes, err := enc.MarshalTraces(want)
			require.NoError(t, err)
			gotBytes, err := enc.MarshalTraces(got)
			require.NoError(t, err)
			assert.Equal(t, wantBytes, gotBytes)
		})
	}
}

func TestDistinctKeys(t *testing.T) {
	assert.True(t, distinctKeys(nil))
	assert.True(t, distinctKeys(members("a", "b", "c")))
	assert.False(t, distinctKeys(members("a", "b", "a")))
	assert.False(t, distinctKeys(members("a", "b", "c", "c")))
}

func members(keys ...string) []baggage.Member {
	out := make([]baggage.Member, len(keys))
	for i, k := range keys {
		out[i] = baggage.Member{Key: k, Value: "v"}
	}
	return out
}
