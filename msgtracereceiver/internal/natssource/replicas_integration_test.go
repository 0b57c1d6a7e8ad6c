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

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// Two replicas in the taps' queue group split a core subject: each message
// is traced once over both, and an application subscriber (no group) still
// gets every one.
func TestCoreQueueGroupSplitsSubject(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	root := sourcetest.Unique("orders")
	subject := root + ".created"
	appGot := make(chan string, 1000)
	appSub, err := nc.Subscribe(subject, func(m *nats.Msg) { appGot <- m.Header.Get("message_id") })
	require.NoError(t, err)
	t.Cleanup(func() { _ = appSub.Unsubscribe() })

	cfg := NewDefaultConfig()
	cfg.Subjects = []string{root + ".>"}
	cfg.QueueGroup = sourcetest.Unique("otelcol-msgtrace")
	recA, recB := &sourcetest.Recorder{}, &sourcetest.Recorder{}
	srcA := startSource(t, cfg, recA)
	defer sourcetest.Shutdown(t, srcA)
	srcB := startSource(t, cfg, recB)
	defer sourcetest.Shutdown(t, srcB)
	// Both members are subscribed once each has traced a probe.
	recA.WaitTapping(t, "probe-a", func(id string) {
		require.NoError(t, nc.PublishMsg(&nats.Msg{Subject: root + ".probe", Header: nats.Header{"message_id": {id}}}))
	})
	recB.WaitTapping(t, "probe-b", func(id string) {
		require.NoError(t, nc.PublishMsg(&nats.Msg{Subject: root + ".probe", Header: nats.Header{"message_id": {id}}}))
	})

	const n = 200
	var want []string
	for i := range n {
		id := fmt.Sprintf("order-%03d", i)
		want = append(want, id)
		require.NoError(t, nc.PublishMsg(&nats.Msg{Subject: subject, Header: nats.Header{"message_id": {id}}}))
	}
	require.NoError(t, nc.Flush())
	require.Eventually(t, func() bool {
		a, b := recA.ByID(), recB.ByID()
		for _, id := range want {
			if len(a[id])+len(b[id]) == 0 {
				return false
			}
		}
		return true
	}, sourcetest.WaitLimit, 50*time.Millisecond, "every message traced by one of the replicas")
	a, b := recA.ByID(), recB.ByID()
	var inA, inB int
	for _, id := range want {
		assert.Equal(t, 1, len(a[id])+len(b[id]), "%s traced once over both replicas", id)
		inA += len(a[id])
		inB += len(b[id])
	}
	assert.Positive(t, inA, "replica a traced messages")
	assert.Positive(t, inB, "replica b traced messages")
	got := map[string]bool{}
	require.Eventually(t, func() bool {
		for {
			select {
			case id := <-appGot:
				got[id] = true
			default:
				return len(got) == n
			}
		}
	}, sourcetest.WaitLimit, 50*time.Millisecond, "the application's subscriber gets every message")
}

// Two replicas share the taps' durable pull consumer of a stream: each
// message is traced once and acknowledged; the application's consumer and
// the stream are untouched; a consumer of that name the tap did not create
// is refused.
func TestJetStreamDurableSharedByReplicas(t *testing.T) {
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
	app, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "app", AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)

	cfg := NewDefaultConfig()
	cfg.JetStream.Streams = []StreamConfig{{Name: name, DeliverPolicy: DeliverAll, Durable: "otelcol-msgtrace", AckWait: time.Second}}
	recA, recB := &sourcetest.Recorder{}, &sourcetest.Recorder{}
	srcA := startSource(t, cfg, recA)
	defer sourcetest.Shutdown(t, srcA)
	srcB := startSource(t, cfg, recB)
	defer sourcetest.Shutdown(t, srcB)

	const n = 300
	var want []string
	for i := range n {
		id := fmt.Sprintf("order-%03d", i)
		want = append(want, id)
		_, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: nats.Header{"message_id": {id}}})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(recA.Messages())+len(recB.Messages()) >= n },
		sourcetest.WaitLimit, 50*time.Millisecond, "the replicas traced %d+%d of %d", len(recA.Messages()), len(recB.Messages()), n)
	a, b := recA.ByID(), recB.ByID()
	// Once over both: with a consumer each, both would trace every message.
	// (Which replica gets which depends on whose pull came first.)
	for _, id := range want {
		assert.Equal(t, 1, len(a[id])+len(b[id]), "%s traced once over both replicas", id)
	}

	tap, err := stream.Consumer(ctx, "otelcol-msgtrace")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := tap.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	}, sourcetest.WaitLimit, 50*time.Millisecond, "every message acknowledged in the taps' consumer")
	assert.Equal(t, tapConsumerDescription, tap.CachedInfo().Config.Description)
	info, err := app.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(n), info.NumPending, "the application's consumer still has every message")
	si, err := stream.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(n), si.State.Msgs, "no message removed")

	// The application's durable, by name: refused.
	js2, err := jetstream.New(nc)
	require.NoError(t, err)
	s := &source{cfg: cfg, log: recA.Settings(t).Logger}
	_, err = s.durableConsumer(ctx, js2, StreamConfig{Name: name, Durable: "app"})
	assert.ErrorContains(t, err, "not created by the tap")
}

// A message a replica pulled and never acknowledged (it died) goes to
// another replica after ack_wait.
func TestJetStreamDurableRedeliversWhatADeadReplicaHeld(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := context.Background()
	name := strings.ToUpper(sourcetest.Unique("PAYMENTS"))
	subject := strings.ToLower(name) + ".paid"
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	st := StreamConfig{Name: name, DeliverPolicy: DeliverAll, Durable: "otelcol-msgtrace", AckWait: time.Second}
	// The dead replica: the taps' consumer, created as the tap does, pulls
	// without acknowledging.
	dead, err := js.CreateConsumer(ctx, name, durableConfig(st))
	require.NoError(t, err)
	for i := range 5 {
		_, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: nats.Header{"message_id": {fmt.Sprintf("held-%d", i)}}})
		require.NoError(t, err)
	}
	batch, err := dead.Fetch(5, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	held := 0
	for range batch.Messages() {
		held++
	}
	require.Equal(t, 5, held)

	cfg := NewDefaultConfig()
	cfg.JetStream.Streams = []StreamConfig{st}
	rec := &sourcetest.Recorder{}
	src := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitIDs(t, "held-0", "held-1", "held-2", "held-3", "held-4")
}
