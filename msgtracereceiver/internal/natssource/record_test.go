package natssource

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func TestRecordToMessage(t *testing.T) {
	observed := time.Unix(1700000100, 0)
	stored := time.Unix(1700000000, 5)
	tests := []struct {
		name    string
		r       record
		want    message.Message
		wantBad []string
	}{
		{
			name: "core, FastStream headers",
			r: record{subject: "orders.eu", size: 3, tap: "t-1", header: nats.Header{
				"message_id": {"m-1"}, "correlation_id": {"c-1"}, "traceparent": {tp}, "tracestate": {"a=1", "b=2"}, "baggage": {"k=v"},
			}},
			want: message.Message{
				System: System, Destination: "orders.eu", Identity: "nats/core/orders.eu/id/m-1", ID: "m-1", ConversationID: "c-1",
				Observed: observed, BodySize: 3, TraceParent: tp, TraceState: "a=1,b=2", Baggage: "k=v", ServerAddress: "h", ServerPort: 4222,
			},
		},
		{
			name: "core without id: the tap's observation names it",
			r:    record{subject: "a/b", tap: "t-2"},
			want: message.Message{System: System, Destination: "a/b", Identity: "nats/core/a%2Fb/tap/t-2", Observed: observed, ServerAddress: "h", ServerPort: 4222},
		},
		{
			name: "JetStream: stream and sequence, Nats-Msg-Id as the id",
			r: record{subject: "orders.eu", stream: "ORDERS", seq: 42, stored: stored, tap: "t-3", header: nats.Header{
				"Nats-Msg-Id": {"dedupe-1"}, "Traceparent": {tp},
			}},
			want: message.Message{
				System: System, Destination: "orders.eu", Identity: "nats/js//ORDERS/42", ID: "dedupe-1", Timestamp: stored,
				Observed: observed, TraceParent: tp, ServerAddress: "h", ServerPort: 4222,
			},
		},
		{
			name: "repeated traceparent with different values is a fault; the first is kept",
			r:    record{subject: "s", tap: "t-4", header: nats.Header{"traceparent": {tp, "00-other"}, "message_id": {"m", "m"}}},
			want: message.Message{
				System: System, Destination: "s", Identity: "nats/core/s/id/m", ID: "m", TraceParent: tp,
				Observed: observed, ServerAddress: "h", ServerPort: 4222,
			},
			wantBad: []string{"traceparent"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, bad := tt.r.toMessage(observed, "h", 4222)
			assert.Equal(t, tt.want, m)
			assert.Equal(t, tt.wantBad, bad)
		})
	}
}

func TestJetStreamIdentityIgnoresTheTap(t *testing.T) {
	a := record{stream: "S", seq: 7, tap: "one"}
	b := record{stream: "S", seq: 7, tap: "two"}
	assert.Equal(t, a.identity("x"), b.identity("y"), "a redelivered stream message rebuilds the same span")
}
