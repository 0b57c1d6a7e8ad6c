package kafkasource

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Records with odd headers and timestamps, written on the wire by a real
// client and read back by the Source: what reaches the pipeline is bounded
// by the five headers the source reads, whatever else the record carries.

const validTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func header(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }

func TestBadInputRecords(t *testing.T) {
	manyHeaders := make([]kgo.RecordHeader, 0, 10_000)
	for i := range 9_998 {
		manyHeaders = append(manyHeaders, header(fmt.Sprintf("x-junk-%05d", i), "baggage=secret"))
	}
	manyHeaders = append(manyHeaders, header("traceparent", validTP), header("message_id", "many"))

	tests := []struct {
		name string
		rec  kgo.Record
		want func(t *testing.T, m message.Message)
	}{
		{
			name: "10 000 headers: only the known ones are kept",
			rec:  kgo.Record{Headers: manyHeaders},
			want: func(t *testing.T, m message.Message) {
				assert.Equal(t, validTP, m.TraceParent)
				assert.Equal(t, "many", m.ID)
				assert.Empty(t, m.Baggage, "a header named like a value is not read")
			},
		},
		{
			name: "header names differ in case",
			rec:  kgo.Record{Headers: []kgo.RecordHeader{header("TraceParent", validTP), header("BAGGAGE", "k=v"), header("Message_ID", "m")}},
			want: func(t *testing.T, m message.Message) {
				assert.Equal(t, validTP, m.TraceParent)
				assert.Equal(t, "k=v", m.Baggage)
				assert.Equal(t, "m", m.ID)
			},
		},
		{
			name: "repeated header: the last one counts, as in the OTel Kafka getters",
			rec:  kgo.Record{Headers: []kgo.RecordHeader{header("traceparent", "garbage"), header("traceparent", validTP)}},
			want: func(t *testing.T, m message.Message) { assert.Equal(t, validTP, m.TraceParent) },
		},
		{
			name: "header values that are not UTF-8 are handed on as bytes",
			rec: kgo.Record{Headers: []kgo.RecordHeader{
				{Key: "message_id", Value: []byte{'m', 0xff, 0xfe}},
				{Key: "correlation_id", Value: []byte{0xc3}},
				{Key: "baggage", Value: []byte{'k', '=', 0x80}},
			}},
			want: func(t *testing.T, m message.Message) {
				// The span model repairs or rejects them (and counts the fault).
				assert.Equal(t, "m\xff\xfe", m.ID)
				assert.Equal(t, "\xc3", m.ConversationID)
				assert.Equal(t, "k=\x80", m.Baggage)
			},
		},
		{
			name: "header names that are not UTF-8 are ignored",
			rec:  kgo.Record{Headers: []kgo.RecordHeader{{Key: "trace\xffparent", Value: []byte(validTP)}, {Key: "", Value: []byte("x")}}},
			want: func(t *testing.T, m message.Message) { assert.Empty(t, m.TraceParent) },
		},
		{
			name: "header without a value",
			rec:  kgo.Record{Headers: []kgo.RecordHeader{{Key: "traceparent"}, {Key: "baggage", Value: []byte{}}}},
			want: func(t *testing.T, m message.Message) {
				assert.Empty(t, m.TraceParent)
				assert.Empty(t, m.Baggage)
			},
		},
		{
			name: "oversized header value is handed on whole, for the span model to bound",
			rec:  kgo.Record{Headers: []kgo.RecordHeader{header("baggage", strings.Repeat("k=v,", 50_000))}},
			want: func(t *testing.T, m message.Message) { assert.Len(t, m.Baggage, 200_000) },
		},
	}

	verifyNoLeaks(t)
	c := newCluster(t, kfake.SeedTopics(1, "bad"))
	addrs := c.ListenAddrs()
	recs := make([]*kgo.Record, len(tests))
	for i := range tests {
		r := tests[i].rec
		r.Topic, r.Value = "bad", []byte("body")
		recs[i] = &r
	}
	// One produce call per record keeps the offsets in table order.
	for _, r := range recs {
		produce(t, addrs, nil, r)
	}
	r := startSource(t, testConfig(addrs, "bad"))
	require.Eventually(t, func() bool { return len(r.sink.messages()) == len(tests) }, waitFor, tick)

	byOffset := map[int64]message.Message{}
	for _, m := range r.sink.messages() {
		byOffset[offsetOf(t, m)] = m
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := byOffset[recs[i].Offset]
			require.True(t, ok, "message at offset %d", recs[i].Offset)
			assert.Equal(t, 4, m.BodySize)
			// Whatever the headers, the system attributes are the offset alone.
			assert.Equal(t, []attribute.KeyValue{semconv.MessagingKafkaOffset(int(recs[i].Offset))}, m.Attributes)
			tt.want(t, m)
		})
	}
	assert.Empty(t, r.sink.faultCounts(), "odd headers are the span model's to judge")
	assertNotLogged(t, r.logs, "baggage=secret")
}

// Timestamps: a record without one (-1 on the wire) or from before 1970 is
// a counted fault and leaves the Message's Timestamp zero (the span model
// then uses the observed time); one from the future is handed on, since
// only the span model knows when the message was observed.
func TestBadInputTimestamps(t *testing.T) {
	future := time.Now().Add(10 * 365 * 24 * time.Hour).Truncate(time.Millisecond)
	tests := []struct {
		name      string
		ts        time.Time
		want      time.Time
		faultKind string
	}{
		{name: "none (-1)", ts: time.UnixMilli(-1), faultKind: "kafka/timestamp"},
		{name: "before 1970", ts: time.UnixMilli(-86_400_000), faultKind: "kafka/timestamp"},
		{name: "epoch", ts: time.UnixMilli(0), faultKind: "kafka/timestamp"},
		{name: "far future", ts: future, want: future},
	}
	verifyNoLeaks(t)
	c := newCluster(t, kfake.SeedTopics(1, "clock"))
	addrs := c.ListenAddrs()
	recs := make([]*kgo.Record, len(tests))
	for i, tt := range tests {
		recs[i] = &kgo.Record{Topic: "clock", Value: []byte("v"), Timestamp: tt.ts}
		produce(t, addrs, nil, recs[i])
	}
	r := startSource(t, testConfig(addrs, "clock"))
	require.Eventually(t, func() bool { return len(r.sink.messages()) == len(tests) }, waitFor, tick)

	byOffset := map[int64]message.Message{}
	for _, m := range r.sink.messages() {
		byOffset[offsetOf(t, m)] = m
	}
	wantFaults := map[string]int{}
	for i, tt := range tests {
		m := byOffset[recs[i].Offset]
		assert.True(t, tt.want.Equal(m.Timestamp), "%s: timestamp %v, want %v", tt.name, m.Timestamp, tt.want)
		assert.False(t, m.Observed.IsZero(), tt.name)
		if tt.faultKind != "" {
			wantFaults[tt.faultKind]++
		}
	}
	assert.Equal(t, wantFaults, r.sink.faultCounts())
}

func offsetOf(t *testing.T, m message.Message) int64 {
	t.Helper()
	for _, a := range m.Attributes {
		if a.Key == semconv.MessagingKafkaOffsetKey {
			return a.Value.AsInt64()
		}
	}
	require.Fail(t, "message without an offset", "%+v", m)
	return -1
}

func TestKafkaErrorPrefixedOnce(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"kafka: client has run out of available brokers", "kafka: client has run out of available brokers"},
		{"dial tcp 127.0.0.1:9: connect: connection refused", "kafka: dial tcp 127.0.0.1:9: connect: connection refused"},
	} {
		if got := kafkaError(errors.New(tc.in)).Error(); got != tc.want {
			t.Errorf("kafkaError(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
