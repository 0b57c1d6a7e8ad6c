package natssource

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// wireAckAdvisory is an advisory as nats-server v2.9 publishes it.
const wireAckAdvisory = `{"type":"io.nats.jetstream.metric.v1.consumer_ack","id":"Mox1UzzkbjHswsHx9B72su",` +
	`"timestamp":"2026-12-03T06:28:33.803071421Z","stream":"ORDERS","consumer":"w","consumer_seq":1,` +
	`"stream_seq":7,"ack_time":226727,"deliveries":1}`

func TestParseAckAdvisory(t *testing.T) {
	now := time.Date(2026, 12, 3, 6, 28, 34, 0, time.UTC)
	a, err := parseAckAdvisory([]byte(wireAckAdvisory), now)
	require.NoError(t, err)
	assert.Equal(t, "ORDERS", a.Stream)
	assert.Equal(t, "w", a.Consumer)
	assert.Equal(t, uint64(7), a.StreamSeq)
	assert.True(t, a.Timestamp.Equal(time.Date(2026, 12, 3, 6, 28, 33, 803071421, time.UTC)), "dated by its timestamp: %v", a.Timestamp)

	for name, data := range map[string]string{
		"not json":        `not json`,
		"truncated":       wireAckAdvisory[:40],
		"another type":    `{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream":"ORDERS","consumer":"w","stream_seq":7,"timestamp":"2026-12-03T06:28:33Z"}`,
		"no stream":       `{"type":"io.nats.jetstream.metric.v1.consumer_ack","consumer":"w","stream_seq":7,"timestamp":"2026-12-03T06:28:33Z"}`,
		"no sequence":     `{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"ORDERS","consumer":"w","timestamp":"2026-12-03T06:28:33Z"}`,
		"no timestamp":    `{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"ORDERS","consumer":"w","stream_seq":7}`,
		"bad timestamp":   `{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"ORDERS","consumer":"w","stream_seq":7,"timestamp":"yesterday"}`,
		"epoch timestamp": `{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"ORDERS","consumer":"w","stream_seq":7,"timestamp":"1970-01-01T00:00:00Z"}`,
		"negative seq":    `{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"ORDERS","consumer":"w","stream_seq":-1,"timestamp":"2026-12-03T06:28:33Z"}`,
		"in the future":   `{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"ORDERS","consumer":"w","stream_seq":7,"timestamp":"2026-12-03T06:29:35Z"}`,
		"after 2262":      `{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"ORDERS","consumer":"w","stream_seq":7,"timestamp":"2300-01-01T00:00:00Z"}`,
	} {
		_, err := parseAckAdvisory([]byte(data), now)
		assert.Error(t, err, name)
	}
	// A server clock a little ahead of the collector's is no fault.
	_, err = parseAckAdvisory([]byte(`{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"ORDERS","consumer":"w","stream_seq":7,"timestamp":"2026-12-03T06:29:30Z"}`), now)
	assert.NoError(t, err, "within maxAdvisorySkew")
}

func TestSamplesAcks(t *testing.T) {
	for freq, want := range map[string]bool{"": false, "100%": true, "100": true, "1%": true, "0%": false, "0": false, "-5%": false, "half": false, " 50%": false} {
		assert.Equal(t, want, samplesAcks(freq), "%q", freq)
	}
}

// The ring remembers the latest maxSeqSubjects sequences, only while
// sampling, in order.
func TestSeqSubjects(t *testing.T) {
	var ss seqSubjects
	ss.add(1, "a")
	_, ok := ss.subjectOf(1)
	assert.False(t, ok, "not remembered while no consumer samples")

	ss.setSampling(true)
	for seq := uint64(1); seq <= maxSeqSubjects+10; seq++ {
		ss.add(seq, fmt.Sprint("s", seq%3))
	}
	ss.add(5, "late") // at or before the newest: ignored
	for seq, want := range map[uint64]string{11: "s2", 12: "s0", maxSeqSubjects + 10: "s2"} {
		got, ok := ss.subjectOf(seq)
		assert.True(t, ok, "seq %d", seq)
		assert.Equal(t, want, got, "seq %d", seq)
	}
	for _, seq := range []uint64{5, 10, maxSeqSubjects + 11, 0} {
		_, ok := ss.subjectOf(seq)
		assert.False(t, ok, "seq %d is not remembered", seq)
	}
	assert.Len(t, ss.ring, maxSeqSubjects)

	ss.setSampling(false)
	assert.Nil(t, ss.ring, "stopping forgets")
	_, ok = ss.subjectOf(12)
	assert.False(t, ok)
}

// Advisories are wire bytes: whatever arrives, the parser returns an
// error or an advisory the handler can use, and never panics.
func FuzzParseAckAdvisory(f *testing.F) {
	f.Add([]byte(wireAckAdvisory))
	f.Add([]byte(`{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"S","consumer":"c","stream_seq":18446744073709551615,"timestamp":"9999-12-31T23:59:59.999999999Z"}`))
	f.Add([]byte(`{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"S","consumer":"c","stream_seq":1,"timestamp":"2026-12-03T06:28:33+14:00","domain":"hub"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"stream_seq":1e3}`))
	f.Add([]byte(`{"type":"io.nats.jetstream.metric.v1.consumer_ack","stream":"S","consumer":"c","stream_seq":1,"timestamp":"2262-04-12T00:00:00Z"}`))
	now := time.Date(2026, 12, 3, 6, 28, 34, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseAckAdvisory(data, now)
		if err != nil {
			assert.Zero(t, a)
			return
		}
		assert.Equal(t, ackAdvisoryType, a.Type)
		assert.NotEmpty(t, a.Stream)
		assert.NotEmpty(t, a.Consumer)
		assert.NotZero(t, a.StreamSeq)
		assert.Positive(t, a.Timestamp.Unix())
		assert.False(t, a.Timestamp.After(now.Add(maxAdvisorySkew)), "not in the future: %v", a.Timestamp)
	})
}

// The client dropping ack advisories is told apart from the tap falling
// behind on core messages, and warned of at most once a minute.
func TestAsyncErrorOfAdvisories(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	cfg := NewDefaultConfig()
	cfg.Subjects = []string{"orders.>"}
	src, err := New(cfg, message.Settings{Logger: zap.New(core)})
	require.NoError(t, err)
	s := src.(*source)

	advisories := &nats.Subscription{Subject: ackAdvisoryPrefix + "ORDERS.billing"}
	s.onAsyncError(nil, advisories, nats.ErrSlowConsumer)
	s.onAsyncError(nil, advisories, nats.ErrSlowConsumer)
	s.onAsyncError(nil, &nats.Subscription{Subject: "orders.>"}, nats.ErrSlowConsumer)

	dropped := logs.FilterMessageSnippet("ack advisories dropped by the client")
	require.Equal(t, 1, dropped.Len(), "once a minute")
	assert.Equal(t, zap.WarnLevel, dropped.All()[0].Level)
	assert.Equal(t, int64(advisoryPendingMsgs), dropped.All()[0].ContextMap()["pending_limit"])
	behind := logs.FilterMessage("NATS tap is behind: core messages dropped by the client")
	assert.Equal(t, 1, behind.Len(), "core messages only")
	assert.Equal(t, "orders.>", behind.All()[0].ContextMap()["subject"])

	// A refused advisory subscription: the watcher warns, with the subject.
	s.onAsyncError(nil, nil, fmt.Errorf("%w: %s", nats.ErrPermissionViolation,
		`Permissions Violation for Subscription to "`+ackAdvisoryPrefix+`ORDERS.billing"`))
	assert.Equal(t, 1, logs.FilterMessage("NATS asynchronous error").FilterLevelExact(zap.DebugLevel).Len())
	assert.Zero(t, logs.FilterMessage("NATS asynchronous error").FilterLevelExact(zap.WarnLevel).Len())
}
