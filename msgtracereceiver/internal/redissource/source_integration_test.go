package redissource

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/fsenvelope"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

const (
	traceparentA = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	batchSize    = 50
)

type payload struct {
	id   string
	data string // the envelope, as FastStream would publish it
}

func binary(h ...string) func(body string) string {
	return func(body string) string {
		var hs []fsenvelope.Header
		for i := 0; i+1 < len(h); i += 2 {
			hs = append(hs, fsenvelope.Header{Key: h[i], Value: h[i+1]})
		}
		return string(fsenvelope.Encode(hs, []byte(body)))
	}
}

// scenario is the four cases every broker test covers, in FastStream's
// envelopes: binary (0.6+), and the legacy JSON one for the baggage case.
func scenario() []payload {
	out := []payload{
		{"with-context", binary("message_id", "with-context", "correlation_id", "conv-1",
			"traceparent", traceparentA, "tracestate", "vendor=1")(`{"n":1}`)},
		{"without-context", binary("message_id", "without-context")("plain")},
		{"with-baggage", `{"data": "b", "headers": {"message_id": "with-baggage", "traceparent": "` + traceparentA +
			`", "baggage": "tenant=acme,with_batch=True"}}`},
	}
	for i := range batchSize {
		id := fmt.Sprintf("batch-%02d", i)
		out = append(out, payload{id, binary("message_id", id, "correlation_id", "batch")(id)})
	}
	return out
}

func ids(ps []payload) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.id)
	}
	return out
}

// checkScenario checks what the tap made of scenario's messages.
func checkScenario(t *testing.T, rec *sourcetest.Recorder, destination string) {
	t.Helper()
	got := rec.ByID()
	one := func(id string) message.Message {
		require.Len(t, got[id], 1, "message %s seen once", id)
		return got[id][0]
	}
	m := one("with-context")
	assert.Equal(t, System, m.System)
	assert.Equal(t, destination, m.Destination)
	assert.Equal(t, traceparentA, m.TraceParent)
	assert.Equal(t, "vendor=1", m.TraceState)
	assert.Equal(t, "conv-1", m.ConversationID)
	assert.Equal(t, 7, m.BodySize, "the body inside the envelope")
	assert.Equal(t, "127.0.0.1", m.ServerAddress)
	assert.Equal(t, 6379, m.ServerPort)
	assert.False(t, m.Observed.IsZero())

	assert.Empty(t, one("without-context").TraceParent)
	m = one("with-baggage")
	assert.Equal(t, "tenant=acme,with_batch=True", m.Baggage, "legacy JSON envelope")
	assert.Equal(t, 1, m.BodySize)

	identities := map[string]bool{}
	for i := range batchSize {
		m := one(fmt.Sprintf("batch-%02d", i))
		assert.Equal(t, "batch", m.ConversationID)
		identities[m.Identity] = true
	}
	assert.Len(t, identities, batchSize, "every message has its own identity")
}

func TestPubSubChannelsAndPatterns(t *testing.T) {
	requireServer(t)
	c := producer(t)
	root := sourcetest.Unique("orders")
	cfg := NewDefaultConfig()
	cfg.Channels = []string{root + ":direct"}
	cfg.Patterns = []string{root + ":eu:*"}
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	rec.WaitTapping(t, "probe", func(id string) {
		require.NoError(t, c.Publish(root+":direct", binary("message_id", id)("")))
	})
	rec.WaitTapping(t, "pattern-probe", func(id string) {
		require.NoError(t, c.Publish(root+":eu:created", binary("message_id", id)("")))
	})
	ps := scenario()
	for _, p := range ps {
		require.NoError(t, c.Publish(root+":direct", p.data))
	}
	rec.WaitIDs(t, ids(ps)...)
	checkScenario(t, rec, root+":direct")
	assert.Empty(t, rec.ByID()["with-context"][0].Attributes)

	var fromPattern message.Message
	for _, m := range rec.Messages() {
		if strings.HasPrefix(m.ID, "pattern-probe-") {
			fromPattern = m
		}
	}
	assert.Equal(t, root+":eu:created", fromPattern.Destination)
	assert.Equal(t, []attribute.KeyValue{semconv.MessagingDestinationTemplate(root + ":eu:*")}, fromPattern.Attributes)
	assert.Empty(t, rec.Faults())
}

func TestStreamsNeverConsume(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("events")
	t.Cleanup(func() { c.Del(stream) })
	// Added before the tap starts: start_id $ must not see it.
	_, err := c.XAdd(stream, "__data__", binary("message_id", "old")(""))
	require.NoError(t, err)

	cfg := NewDefaultConfig()
	cfg.Streams = []StreamConfig{{Name: stream}}
	cfg.Block = 100 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	// The tap resolves "$" to the stream's last ID before reading; entries
	// added from the first probe on are all seen.
	added := 1
	rec.WaitTapping(t, "probe", func(id string) {
		_, err := c.XAdd(stream, "__data__", binary("message_id", id)(""))
		require.NoError(t, err)
		added++
	})
	ps := scenario()
	entryIDs := map[string]string{}
	for _, p := range ps {
		id, err := c.XAdd(stream, "__data__", p.data)
		require.NoError(t, err)
		entryIDs[p.id] = id
	}
	// A producer that is not FastStream: context in plain fields.
	plainID, err := c.XAdd(stream, "traceparent", traceparentA, "order", "42")
	require.NoError(t, err)

	rec.WaitIDs(t, append(ids(ps), plainID)...)
	checkScenario(t, rec, stream)
	assert.Empty(t, rec.ByID()["old"], "start_id $ skips what was there before")

	m := rec.ByID()["with-context"][0]
	assert.Equal(t, "redis/0/stream/"+stream+"/"+entryIDs["with-context"], m.Identity)
	ts, err := entryTime(entryIDs["with-context"])
	require.NoError(t, err)
	assert.Equal(t, ts, m.Timestamp, "the entry ID's time")
	plain := rec.ByID()[plainID][0]
	assert.Equal(t, traceparentA, plain.TraceParent)

	// Nothing was removed, claimed or grouped.
	n, err := redis.Int(c.Do("XLEN", stream))
	require.NoError(t, err)
	assert.Equal(t, added+len(ps)+1, n, "every entry is still there")
	groups, err := redis.Values(c.Do("XINFO", "GROUPS", stream))
	require.NoError(t, err)
	assert.Empty(t, groups, "no consumer group")
}

func TestRecoversFromClientKill(t *testing.T) {
	requireServer(t)
	c := producer(t)
	channel := sourcetest.Unique("payments")
	stream := sourcetest.Unique("ledger")
	t.Cleanup(func() { c.Del(stream) })

	cfg := NewDefaultConfig()
	cfg.Channels = []string{channel}
	cfg.Streams = []StreamConfig{{Name: stream, StartID: StartAll}}
	cfg.Block = 100 * time.Millisecond
	cfg.Reconnect.InitialInterval = 50 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src, name := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	publish := func(id string) {
		require.NoError(t, c.Publish(channel, binary("message_id", id)("")))
	}
	add := func(id string) {
		_, err := c.XAdd(stream, "__data__", binary("message_id", id)(""))
		require.NoError(t, err)
	}
	rec.WaitTapping(t, "pubsub-before", publish)
	rec.WaitTapping(t, "stream-before", add)

	sourcetest.KillRedisClients(t, c, name)
	// Added while the tap is cut off: the stream keeps them and the tap
	// reads on after the last entry it delivered.
	var during []string
	for i := range 20 {
		id := fmt.Sprintf("stream-during-%02d", i)
		add(id)
		during = append(during, id)
	}
	rec.WaitIDs(t, during...)
	ever, _ := rec.Status.Reported(componentstatus.StatusRecoverableError)
	assert.True(t, ever, "the killed connection is reported")
	rec.WaitTapping(t, "pubsub-after", publish)
	ps := scenario()
	for _, p := range ps {
		require.NoError(t, c.Publish(channel, p.data))
	}
	rec.WaitIDs(t, ids(ps)...)
	checkScenario(t, rec, channel)

	// No stream entry was delivered twice across the reconnect.
	seen := map[string]int{}
	for _, m := range rec.Messages() {
		if m.Destination == stream {
			seen[m.Identity]++
		}
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "%s seen %d times", id, n)
	}
}

func TestStartWithServerDown(t *testing.T) {
	// Something that accepts and hangs up at once, like a server that is
	// still starting: Start must return at once, both readers must keep
	// retrying, and Shutdown must end the retries.
	server := sourcetest.StartHangUp(t)
	cfg := NewDefaultConfig()
	cfg.Endpoint = server.Addr()
	cfg.Channels = []string{"a"}
	cfg.Streams = []StreamConfig{{Name: "s"}}
	cfg.Reconnect.InitialInterval = 10 * time.Millisecond
	cfg.Reconnect.MaxInterval = 20 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	require.Eventually(t, func() bool { return server.Attempts() >= 4 }, sourcetest.WaitLimit, 10*time.Millisecond, "the source retries")
	_, last := rec.Status.Reported(componentstatus.StatusRecoverableError)
	assert.True(t, last, "a server that is down is reported, not fatal")
	sourcetest.Shutdown(t, src)
	assert.Empty(t, rec.Messages())
}
