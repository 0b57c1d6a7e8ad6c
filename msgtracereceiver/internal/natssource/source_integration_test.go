package natssource

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

const (
	traceparentA = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	batchSize    = 50
)

// scenario returns the four cases every broker test covers, as NATS
// messages on subject; FastStream puts ids and context in headers.
func scenario(subject string) []*nats.Msg {
	msg := func(h nats.Header, body string) *nats.Msg {
		return &nats.Msg{Subject: subject, Header: h, Data: []byte(body)}
	}
	out := []*nats.Msg{
		msg(nats.Header{"message_id": {"with-context"}, "correlation_id": {"conv-1"},
			"traceparent": {traceparentA}, "tracestate": {"vendor=1"}}, `{"n":1}`),
		msg(nats.Header{"message_id": {"without-context"}}, "plain"),
		msg(nats.Header{"message_id": {"with-baggage"}, "traceparent": {traceparentA},
			"baggage": {"tenant=acme", "with_batch=True"}}, "b"),
	}
	for i := range batchSize {
		id := fmt.Sprintf("batch-%02d", i)
		out = append(out, msg(nats.Header{"message_id": {id}, "correlation_id": {"batch"}}, id))
	}
	return out
}

func ids(msgs []*nats.Msg) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Header.Get("message_id"))
	}
	return out
}

// checkScenario checks what the tap made of scenario's messages.
func checkScenario(t *testing.T, rec *sourcetest.Recorder, subject string) {
	t.Helper()
	got := rec.ByID()
	one := func(id string) message.Message {
		require.Len(t, got[id], 1, "message %s seen once", id)
		return got[id][0]
	}
	m := one("with-context")
	assert.Equal(t, System, m.System)
	assert.Equal(t, subject, m.Destination)
	assert.Equal(t, traceparentA, m.TraceParent)
	assert.Equal(t, "vendor=1", m.TraceState)
	assert.Equal(t, "conv-1", m.ConversationID)
	assert.Equal(t, 7, m.BodySize)
	assert.Equal(t, "127.0.0.1", m.ServerAddress)
	assert.NotZero(t, m.ServerPort)
	assert.False(t, m.Observed.IsZero())

	assert.Empty(t, one("without-context").TraceParent)
	assert.Equal(t, "tenant=acme,with_batch=True", one("with-baggage").Baggage, "repeated baggage headers are one list")

	identities := map[string]bool{}
	for i := range batchSize {
		m := one(fmt.Sprintf("batch-%02d", i))
		assert.Equal(t, "batch", m.ConversationID)
		identities[m.Identity] = true
	}
	assert.Len(t, identities, batchSize, "every message has its own identity")
}

func TestCoreSubjects(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	root := sourcetest.Unique("orders")
	cfg := NewDefaultConfig()
	cfg.Subjects = []string{root + ".>"}
	rec := &sourcetest.Recorder{}
	src := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	subject := root + ".eu.created"
	rec.WaitTapping(t, "probe", func(id string) {
		require.NoError(t, nc.PublishMsg(&nats.Msg{Subject: subject, Header: nats.Header{"message_id": {id}}}))
	})
	msgs := scenario(subject)
	for _, m := range msgs {
		require.NoError(t, nc.PublishMsg(m))
	}
	rec.WaitIDs(t, ids(msgs)...)
	checkScenario(t, rec, subject)
	m := rec.ByID()["with-context"][0]
	assert.True(t, m.Timestamp.IsZero(), "core NATS carries no timestamp")
	assert.True(t, strings.HasPrefix(m.Identity, "nats/core/"+root+".eu.created/id/with-context"), m.Identity)
	assert.Empty(t, rec.Faults())
}

func TestJetStreamLeavesTheApplicationAlone(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := context.Background()
	name := strings.ToUpper(sourcetest.Unique("ORDERS"))
	subject := strings.ToLower(name) + ".created"
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	// The application's own durable consumer, created before the tap.
	app, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "app", AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)

	// Stored before the tap starts: deliver_policy all must see them.
	early := &nats.Msg{Subject: subject, Header: nats.Header{"message_id": {"early"}, "traceparent": {traceparentA}}, Data: []byte("e")}
	_, err = js.PublishMsg(ctx, early)
	require.NoError(t, err)

	cfg := NewDefaultConfig()
	cfg.JetStream.Streams = []StreamConfig{{Name: name, DeliverPolicy: DeliverAll}}
	rec := &sourcetest.Recorder{}
	src := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	rec.WaitIDs(t, "early")
	msgs := scenario(subject)
	for _, m := range msgs {
		_, err := js.PublishMsg(ctx, m)
		require.NoError(t, err)
	}
	rec.WaitIDs(t, ids(msgs)...)
	checkScenario(t, rec, subject)

	m := rec.ByID()["early"][0]
	assert.Equal(t, "nats/js//"+name+"/1", m.Identity, "identity is stream and sequence")
	assert.False(t, m.Timestamp.IsZero(), "JetStream stores a timestamp")
	assert.WithinDuration(t, time.Now(), m.Timestamp, time.Hour)

	// The application's consumer still gets every message, and the tap
	// made no durable consumer of its own.
	batch, err := app.Fetch(len(msgs)+1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var appGot int
	for msg := range batch.Messages() {
		appGot++
		require.NoError(t, msg.Ack())
	}
	require.NoError(t, batch.Error())
	assert.Equal(t, len(msgs)+1, appGot)
	names := stream.ConsumerNames(ctx)
	for n := range names.Name() {
		if n != "app" {
			assert.True(t, strings.HasPrefix(n, "otelcol-msgtrace"), "only the tap's ordered consumer, got %s", n)
			info, err := stream.Consumer(ctx, n)
			require.NoError(t, err)
			assert.Empty(t, info.CachedInfo().Config.Durable, "the tap's consumer is ephemeral")
		}
	}
}

func TestRecoversFromACutConnection(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := context.Background()
	name := strings.ToUpper(sourcetest.Unique("EVENTS"))
	jsSubject := strings.ToLower(name) + ".x"
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	coreSubject := sourcetest.Unique("core") + ".y"

	p := startProxy(t, "127.0.0.1:0")
	cfg := NewDefaultConfig()
	cfg.Servers = []string{"nats://" + p.Addr()}
	cfg.Subjects = []string{coreSubject}
	cfg.JetStream.Streams = []StreamConfig{{Name: name}}
	cfg.Reconnect.InitialInterval = 50 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	publishCore := func(id string) {
		require.NoError(t, nc.PublishMsg(&nats.Msg{Subject: coreSubject, Header: nats.Header{"message_id": {id}}}))
	}
	publishJS := func(id string) {
		_, err := js.PublishMsg(ctx, &nats.Msg{Subject: jsSubject, Header: nats.Header{"message_id": {id}}})
		require.NoError(t, err)
	}
	rec.WaitTapping(t, "core-before", publishCore)
	rec.WaitTapping(t, "js-before", publishJS)

	p.Cut()
	// Stored while the tap is cut off: the ordered consumer resumes after
	// the last sequence it delivered, so none is lost.
	var during []string
	for i := range 20 {
		id := fmt.Sprintf("js-during-%02d", i)
		publishJS(id)
		during = append(during, id)
	}
	rec.WaitIDs(t, during...)
	ever, _ := rec.Status.Reported(componentstatus.StatusRecoverableError)
	assert.True(t, ever, "the cut connection is reported")
	// Core NATS keeps nothing for an absent subscriber: probe until the
	// subscription is back, then everything must arrive.
	rec.WaitTapping(t, "core-after", publishCore)
	msgs := scenario(coreSubject)
	for _, m := range msgs {
		require.NoError(t, nc.PublishMsg(m))
	}
	rec.WaitIDs(t, ids(msgs)...)
	checkScenario(t, rec, coreSubject)

	// No JetStream message was seen twice across the reset.
	seen := map[string]int{}
	for _, m := range rec.Messages() {
		if strings.HasPrefix(m.Identity, "nats/js/") {
			seen[m.Identity]++
		}
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "%s seen %d times", id, n)
	}
}

func TestStartsBeforeTheServer(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	// Reserve a port with nothing behind it yet.
	p := startProxy(t, "127.0.0.1:0")
	addr := p.Addr()
	p.Close()

	cfg := NewDefaultConfig()
	cfg.Servers = []string{"nats://" + addr}
	subject := sourcetest.Unique("late") + ".z"
	cfg.Subjects = []string{subject}
	cfg.Reconnect.InitialInterval = 50 * time.Millisecond
	cfg.Reconnect.MaxInterval = 200 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	require.Eventually(t, func() bool {
		_, last := rec.Status.Reported(componentstatus.StatusRecoverableError)
		return last
	}, sourcetest.WaitLimit, 10*time.Millisecond, "a server that is down is reported, not fatal")
	// The server "comes up": a proxy to it on the configured address.
	startProxy(t, addr)
	rec.WaitTapping(t, "late", func(id string) {
		require.NoError(t, nc.PublishMsg(&nats.Msg{Subject: subject, Header: nats.Header{"message_id": {id}}}))
	})
	_, last := rec.Status.Reported(componentstatus.StatusOK)
	assert.True(t, last, "connected")
}

func TestShutdownWithServerDown(t *testing.T) {
	p := startProxy(t, "127.0.0.1:0")
	addr := p.Addr()
	p.Close()
	cfg := NewDefaultConfig()
	cfg.Servers = []string{"nats://" + addr}
	cfg.Subjects = []string{"a.>"}
	cfg.JetStream.Streams = []StreamConfig{{Name: "NOPE"}}
	rec := &sourcetest.Recorder{}
	src := startSource(t, cfg, rec)
	sourcetest.Shutdown(t, src)
	assert.Empty(t, rec.Messages())
}
