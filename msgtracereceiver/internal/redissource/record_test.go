package redissource

import (
	"errors"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/fsenvelope"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func TestFromPubSub(t *testing.T) {
	tests := []struct {
		name       string
		msg        *redis.Message
		want       message.Message
		wantFaults []string
	}{
		{
			name: "binary envelope",
			msg: &redis.Message{Channel: "orders", Data: []byte(binary(
				"message_id", "m-1", "correlation_id", "c-1", "traceparent", tp, "tracestate", "a=1", "baggage", "k=v")("body"))},
			want: message.Message{
				System: System, Subscription: "orders", Destination: "orders", Identity: "redis/channel/orders/id/m-1", ID: "m-1", ConversationID: "c-1",
				BodySize: 4, TraceParent: tp, TraceState: "a=1", Baggage: "k=v",
			},
		},
		{
			name: "legacy JSON envelope through a pattern",
			msg: &redis.Message{Channel: "orders:eu", Pattern: "orders:*",
				Data: []byte(`{"data": "xy", "headers": {"correlation_id": "c-2", "traceparent": "` + tp + `"}}`)},
			want: message.Message{
				System: System, Subscription: "orders:*", Destination: "orders:eu", Identity: "redis/channel/orders:eu/tap/t-1", ConversationID: "c-2",
				BodySize: 2, TraceParent: tp, Attributes: []attribute.KeyValue{semconv.MessagingDestinationTemplate("orders:*")},
			},
		},
		{
			name: "raw message from another client",
			msg:  &redis.Message{Channel: "a/b", Data: []byte("hello")},
			want: message.Message{System: System, Subscription: "a/b", Destination: "a/b", Identity: "redis/channel/a%2Fb/tap/t-1", BodySize: 5},
		},
		{
			name:       "truncated binary envelope: still a message, and a fault",
			msg:        &redis.Message{Channel: "c", Data: []byte(binary("traceparent", tp)("x")[:12])},
			want:       message.Message{System: System, Subscription: "c", Destination: "c", Identity: "redis/channel/c/tap/t-1", BodySize: 12},
			wantFaults: []string{faultEnvelope},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, faults := fromPubSub(tt.msg, "t-1")
			assert.Equal(t, tt.want, m)
			assert.Equal(t, tt.wantFaults, kinds(faults))
		})
	}
}

func TestFromStream(t *testing.T) {
	tests := []struct {
		name       string
		entry      entry
		want       message.Message
		wantFaults []string
	}{
		{
			name:  "FastStream entry: envelope in __data__",
			entry: entry{ID: "1700000000123-4", Fields: []string{dataField, binary("message_id", "m-1", "traceparent", tp)("body")}},
			want: message.Message{
				System: System, Subscription: "s", Destination: "s", Identity: "redis/2/stream/s/1700000000123-4", ID: "m-1",
				Timestamp: time.UnixMilli(1700000000123), BodySize: 4, TraceParent: tp,
			},
		},
		{
			name:  "plain fields: context read from them, the entry ID is the id",
			entry: entry{ID: "1700000000123-5", Fields: []string{"traceparent", tp, "n", "1"}},
			want: message.Message{
				System: System, Subscription: "s", Destination: "s", Identity: "redis/2/stream/s/1700000000123-5", ID: "1700000000123-5",
				Timestamp: time.UnixMilli(1700000000123), BodySize: len("traceparent") + len(tp) + 2, TraceParent: tp,
			},
		},
		{
			name:  "broken envelope",
			entry: entry{ID: "1-0", Fields: []string{dataField, "\x89BIN\r\n\x1a\n\x00\x02" + string(make([]byte, 10))}},
			want: message.Message{
				System: System, Subscription: "s", Destination: "s", Identity: "redis/2/stream/s/1-0", ID: "1-0", Timestamp: time.UnixMilli(1), BodySize: 20,
			},
			wantFaults: []string{faultEnvelope},
		},
		{
			name:  "fields of another shape: the pairs that were read, and a fault",
			entry: entry{ID: "1700000000123-6", Fields: []string{"traceparent", tp}, fault: errors.New("3 field names and values, want pairs")},
			want: message.Message{
				System: System, Subscription: "s", Destination: "s", Identity: "redis/2/stream/s/1700000000123-6", ID: "1700000000123-6",
				Timestamp: time.UnixMilli(1700000000123), BodySize: len("traceparent") + len(tp), TraceParent: tp,
			},
			wantFaults: []string{faultFields},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, faults := fromStream(2, "s", &tt.entry)
			assert.Equal(t, tt.want, m)
			assert.Equal(t, tt.wantFaults, kinds(faults))
		})
	}
}

func TestEntryTime(t *testing.T) {
	ts, err := entryTime("1700000000123-0")
	require.NoError(t, err)
	assert.Equal(t, time.UnixMilli(1700000000123), ts)
	_, err = entryTime("x-0")
	require.Error(t, err)
}

func TestFieldHeadersGet(t *testing.T) {
	h := fieldHeaders{"n", "traceparent", "traceparent", tp, "traceparent", "second", "baggage"}
	v, ok := h.Get("traceparent")
	assert.True(t, ok)
	assert.Equal(t, tp, v, "names only, the first of a repeated name")
	_, ok = h.Get("baggage")
	assert.False(t, ok, "a name without its value")
	var env fsenvelope.Envelope
	assert.Empty(t, header(env, "traceparent"))
}

func kinds(fs []fault) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.kind)
	}
	return out
}
