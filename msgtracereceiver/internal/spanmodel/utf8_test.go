package spanmodel

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Every string a message contributes to a span passes the one repair step;
// each repaired message counts one header fault and the caller's slice is
// left as it was.
func TestRepairUTF8CoversEveryWireString(t *testing.T) {
	bad := "x\xff\xfe"
	msgs := []message.Message{
		kafkaMsg(0, nil), // valid: untouched, not counted
		kafkaMsg(1, func(m *message.Message) {
			m.Destination, m.Partition, m.ID, m.ConversationID, m.ConsumerGroup, m.ServerAddress = bad, bad, bad, bad, bad, bad
			m.Attributes = []attribute.KeyValue{
				semconv.MessagingRabbitMQDestinationRoutingKey("a." + bad),
				attribute.StringSlice("tags", []string{"ok", bad}),
				attribute.Key("k" + bad).Int(1),
			}
		}),
	}
	original := msgs[1].Attributes[0].Value.AsString()
	for _, opts := range []Options{{Receive: ReceiveMessage}, {Receive: ReceiveBatch}} {
		td, f := New(opts).Build(msgs)
		assert.Equal(t, Faults{Header: 1}, f, "receive %s", opts.Receive)
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			s := spans.At(i)
			assert.True(t, utf8.ValidString(s.Name()), s.Name())
			checkUTF8(t, s.Attributes())
			for j := 0; j < s.Links().Len(); j++ {
				checkUTF8(t, s.Links().At(j).Attributes())
			}
		}
	}
	assert.Equal(t, original, msgs[1].Attributes[0].Value.AsString(), "the source's message is not changed")
}

func checkUTF8(t *testing.T, m pcommon.Map) {
	t.Helper()
	for k, v := range m.All() {
		assert.True(t, utf8.ValidString(k), "key %q", k)
		switch v.Type() {
		case pcommon.ValueTypeStr:
			assert.True(t, utf8.ValidString(v.Str()), "%s = %q", k, v.Str())
		case pcommon.ValueTypeSlice:
			for i := 0; i < v.Slice().Len(); i++ {
				assert.True(t, utf8.ValidString(v.Slice().At(i).Str()), "%s[%d]", k, i)
			}
		}
	}
}
