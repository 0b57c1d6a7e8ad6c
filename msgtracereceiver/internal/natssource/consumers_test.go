package natssource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
)

func TestSubjectMatches(t *testing.T) {
	for _, tt := range []struct {
		filter, subject string
		want            bool
	}{
		{"orders.eu", "orders.eu", true},
		{"orders.eu", "orders.us", false},
		{"orders.eu", "orders.eu.created", false},
		{"orders.eu.created", "orders.eu", false},
		{"orders.*", "orders.eu", true},
		{"orders.*", "orders.eu.created", false},
		{"orders.*.created", "orders.eu.created", true},
		{"orders.*.created", "orders.eu.deleted", false},
		{"orders.>", "orders.eu", true},
		{"orders.>", "orders.eu.created", true},
		{"orders.>", "orders", false},
		{">", "orders", true},
		{"*", "orders", true},
		{"*", "orders.eu", false},
		{"*.eu", "orders.eu", true},
	} {
		assert.Equal(t, tt.want, subjectMatches(tt.filter, tt.subject), "%s ~ %s", tt.filter, tt.subject)
	}
}

func TestLiteralSubjects(t *testing.T) {
	// Wildcard subjects are known only from messages; the tap's literal
	// filters are subjects too.
	assert.Equal(t, []string{"orders.eu", "orders.us"}, literalSubjects([]string{"orders.eu", "orders.us", "audit.>"}, nil))
	assert.Equal(t, []string{"orders.eu", "orders.de"},
		literalSubjects([]string{"orders.eu", "orders.us", "orders.*"}, []string{"orders.eu", "orders.de", "orders.x.>"}))
	assert.Empty(t, literalSubjects([]string{"orders.>"}, []string{"orders.*"}))
}

func TestIsTapConsumer(t *testing.T) {
	assert.True(t, isTapConsumer("taps", tapConsumerDescription), "a durable the tap created")
	assert.True(t, isTapConsumer("otelcol-msgtrace_3", ""), "an ordered consumer of the tap")
	assert.False(t, isTapConsumer("otelcol-msgtrace", ""), "an application's consumer of a similar name")
	assert.False(t, isTapConsumer("billing", "billing service"))
}

func TestFrontierOf(t *testing.T) {
	info := func(ack jetstream.AckPolicy, delivered, floor uint64) *jetstream.ConsumerInfo {
		return &jetstream.ConsumerInfo{Stream: "ORDERS", Name: "billing",
			Config:    jetstream.ConsumerConfig{AckPolicy: ack},
			Delivered: jetstream.SequenceInfo{Stream: delivered}, AckFloor: jetstream.SequenceInfo{Stream: floor}}
	}
	pos, err := frontierOf("ORDERS", info(jetstream.AckExplicitPolicy, 9, 4), 9)
	require.NoError(t, err)
	assert.Equal(t, consumers.Position{Hi: 5}, pos, "the message after the ack floor")
	pos, err = frontierOf("ORDERS", info(jetstream.AckAllPolicy, 9, 0), 9)
	require.NoError(t, err)
	assert.Equal(t, consumers.Position{Hi: 1}, pos, "nothing acknowledged: the first message")
	pos, err = frontierOf("ORDERS", info(jetstream.AckNonePolicy, 9, 0), 9)
	require.NoError(t, err)
	assert.Equal(t, consumers.Position{Hi: 10}, pos, "ack none: settled when delivered")

	_, err = frontierOf("ORDERS", &jetstream.ConsumerInfo{Stream: "ORDERS"}, 9)
	assert.ErrorContains(t, err, "without a name")
	_, err = frontierOf("ORDERS", nil, 9)
	assert.Error(t, err)
	other := info(jetstream.AckExplicitPolicy, 1, 1)
	other.Stream = "AUDIT"
	_, err = frontierOf("ORDERS", other, 9)
	assert.ErrorContains(t, err, `of stream "AUDIT" listed under "ORDERS"`)
	// A floor the stream has not reached, or one that would wrap.
	_, err = frontierOf("ORDERS", info(jetstream.AckExplicitPolicy, 12, 10), 9)
	assert.ErrorIs(t, err, errAheadOfStream)
	_, err = frontierOf("ORDERS", info(jetstream.AckNonePolicy, 10, 0), 9)
	assert.ErrorIs(t, err, errAheadOfStream, "ack none: the delivered sequence")
	_, err = frontierOf("ORDERS", info(jetstream.AckExplicitPolicy, math.MaxUint64, math.MaxUint64), math.MaxUint64-1)
	assert.ErrorIs(t, err, errAheadOfStream)
	_, err = frontierOf("ORDERS", info(jetstream.AckExplicitPolicy, math.MaxUint64, math.MaxUint64), math.MaxUint64)
	assert.ErrorIs(t, err, errAheadOfStream, "a floor of MaxUint64 would wrap")
	pos, err = frontierOf("ORDERS", info(jetstream.AckExplicitPolicy, 9, 9), 9)
	require.NoError(t, err)
	assert.Equal(t, consumers.Position{Hi: 10}, pos, "at the last sequence")
}

func TestFiltersOf(t *testing.T) {
	assert.Empty(t, filtersOf(&jetstream.ConsumerConfig{}))
	assert.Equal(t, []string{"a"}, filtersOf(&jetstream.ConsumerConfig{FilterSubject: "a"}))
	assert.Equal(t, []string{"a", "b"}, filtersOf(&jetstream.ConsumerConfig{FilterSubjects: []string{"a", "b"}}))
}

func TestBadReply(t *testing.T) {
	var syntax *json.SyntaxError
	jsonErr := json.Unmarshal([]byte("not json"), &struct{}{})
	require.ErrorAs(t, jsonErr, &syntax)
	for _, err := range []error{
		jsonErr,
		fmt.Errorf("consumer list: %w", jsonErr),
		jetstream.ErrInvalidJetStreamResponse,
		errors.New(`nats: can not unmarshal "bogus"`),
	} {
		assert.True(t, badReply(err), "%v", err)
	}
	for _, err := range []error{
		context.DeadlineExceeded,
		fmt.Errorf("stream info: %w", nats.ErrTimeout),
		nats.ErrNoResponders,
		nats.ErrConnectionClosed,
		&jetstream.APIError{Code: 503, ErrorCode: jetstream.JSErrCodeJetStreamNotEnabled},
		fmt.Errorf("consumer list: %w", jetstream.ErrJetStreamNotEnabled),
	} {
		assert.False(t, badReply(err), "%v", err)
	}
}

// A subject is tracked in the first stream that shows it, and the index
// tracks at most maxWatchedSubjects subjects.
func TestStreamSubjects(t *testing.T) {
	ss := newStreamSubjects(zap.NewNop())
	assert.True(t, ss.add("ORDERS", "orders.eu"))
	assert.True(t, ss.add("ORDERS", "orders.eu"), "again")
	assert.False(t, ss.add("MIRROR", "orders.eu"), "a mirror's copy of the subject")
	assert.Equal(t, []string{"orders.eu"}, ss.of("ORDERS"))
	assert.Empty(t, ss.of("MIRROR"))
	for i := 1; i < maxWatchedSubjects; i++ {
		require.True(t, ss.add("ORDERS", fmt.Sprintf("orders.%d", i)))
	}
	assert.False(t, ss.add("ORDERS", "orders.one-too-many"))
	assert.True(t, ss.add("ORDERS", "orders.eu"), "known subjects stay tracked")
	assert.Len(t, ss.of("ORDERS"), maxWatchedSubjects)
}
