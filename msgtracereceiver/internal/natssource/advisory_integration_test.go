package natssource

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// driveWatcher runs the tap of cfg (its stream readers and delivery) with a
// consumers watcher that only the test polls: nothing settles but through
// the test's polls and the ack advisories.
func driveWatcher(t *testing.T, cfg *Config, d *sourcetest.Derived, rec *sourcetest.Recorder) (*source, *consumerWatcher, *observer.ObservedLogs) {
	t.Helper()
	return driveWatcherAt(t, serverAddr, cfg, d, rec)
}

// driveWatcherAt is driveWatcher connected to the server at addr.
func driveWatcherAt(t *testing.T, addr string, cfg *Config, d *sourcetest.Derived, rec *sourcetest.Recorder) (*source, *consumerWatcher, *observer.ObservedLogs) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	require.NoError(t, cfg.Consumers.Validate())
	set := d.Settings(t, rec)
	core, logs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	src, err := New(cfg, set)
	require.NoError(t, err)
	s := src.(*source)
	nc, err := nats.Connect("nats://" + addr)
	require.NoError(t, err)
	js, err := s.jetStream(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, st := range cfg.JetStream.Streams {
		wg.Go(func() { s.readStream(ctx, js, st) })
	}
	wg.Go(func() { s.deliverLoop(ctx, nc) })
	w := newConsumerWatcher(ctx, s, js)
	t.Cleanup(func() {
		w.close()
		cancel()
		wg.Wait()
		nc.Close()
	})
	return s, w, logs
}

// sampledConsumer creates an application's durable pull consumer whose
// acks the server samples at freq.
func sampledConsumer(t *testing.T, st jetstream.Stream, name, freq string) jetstream.Consumer {
	t.Helper()
	c, err := st.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{
		Durable: name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute, SampleFrequency: freq,
	})
	require.NoError(t, err)
	return c
}

// A consumer whose acks are sampled (sample_freq 100%) has each message
// settled at its ack, dated by the ack advisory, and once: the poll whose
// floor passes them settles nothing again. A consumer without sampling is
// dated by that poll. Turning sampling off, or deleting the consumer,
// ends the advisory subscription; so does closing the watcher.
func TestConsumersJetStreamAckAdvisories(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	st, subjects := newStream(t, js, "created")
	stream := st.CachedInfo().Config.Name
	billing := sampledConsumer(t, st, "billing", "100%")
	audit := appConsumer(t, st, "audit", jetstream.AckExplicitPolicy, "")
	cfg := watchConfig(stream)
	cfg.Consumers.PollInterval = time.Hour // the test polls
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	s, w, logs := driveWatcher(t, cfg, d, rec)
	ctx := context.Background()

	w.poll(ctx) // the baselines; billing's advisories subscribed
	billingKey, auditKey := consumerKey{stream, "billing"}, consumerKey{stream, "audit"}
	require.Contains(t, w.known, billingKey)
	require.Contains(t, w.known, auditKey)
	sub := w.known[billingKey].acks
	require.NotNil(t, sub, "billing samples its acks")
	assert.Nil(t, w.known[auditKey].acks, "audit does not")
	msgs, bytes, err := sub.PendingLimits()
	require.NoError(t, err)
	assert.Equal(t, advisoryPendingMsgs, msgs, "the client buffers few advisories")
	assert.Equal(t, advisoryPendingBytes, bytes)
	require.NoError(t, w.js.Conn().Flush(), "the subscription is on the server before the acks")

	const n = 4
	ids := publish(t, js, subjects[0], "a", "b", "c", "d")
	rec.WaitIDs(t, ids...)
	stored := map[string]int64{} // id -> the message's stored time, where its settle span starts
	for _, id := range ids {
		stored[id] = rec.ByID()[id][0].Timestamp.UnixNano()
	}

	// Each ack in a window of its own, spaced so that no two overlap.
	type window struct{ before, after time.Time }
	acked := map[int64]window{} // by stored time
	for _, m := range fetch(t, billing, n) {
		id := m.Headers().Get("message_id")
		before := time.Now()
		ack(t, m)
		acked[stored[id]] = window{before, time.Now()}
		time.Sleep(20 * time.Millisecond)
	}
	ack(t, fetch(t, audit, n)...)

	// What the advisories settled goes out with the next Flush.
	require.Eventually(t, func() bool {
		s.tracker.Flush(ctx, time.Now())
		return len(d.SettleSpans("billing")) == n
	}, sourcetest.WaitLimit, watchPoll, "billing is settled by its advisories, before any poll")
	assert.Empty(t, d.SettleSpans("audit"), "audit waits for a poll")

	beforePoll := time.Now()
	w.poll(ctx) // both floors pass every message
	afterPoll := time.Now()

	billed := d.SettleSpans("billing")
	assert.Len(t, billed, n, "one settle span per message: the floor passing them settles none again")
	for _, sp := range billed {
		win, ok := acked[sp.StartTimestamp().AsTime().UnixNano()]
		require.True(t, ok, "a span of one of the acknowledged messages")
		end := sp.EndTimestamp().AsTime()
		assert.False(t, end.Before(win.before) || end.After(win.after),
			"billing's span ends at its ack (%v), within [%v, %v], not at a poll", end, win.before, win.after)
	}
	audited := d.WaitSettles(t, "audit", n)
	assert.Len(t, audited, n)
	for _, sp := range audited {
		end := sp.EndTimestamp().AsTime()
		assert.False(t, end.Before(beforePoll) || end.After(afterPoll),
			"audit's span ends at the poll (%v), within [%v, %v]", end, beforePoll, afterPoll)
	}
	h := d.WaitPoint(t, consumers.MetricTimeInQueue, "billing", func(p sourcetest.Point) bool { return p.Count == n })
	assert.Equal(t, uint64(n), h.Count, "one time in queue per message")
	assert.Empty(t, rec.Faults())

	// An advisory that is not one counts a consumer_info fault.
	p := producer(t)
	require.NoError(t, p.Publish(ackAdvisoryPrefix+stream+".billing", []byte("not json")))
	require.NoError(t, p.Flush())
	require.Eventually(t, func() bool { return len(rec.Faults()) == 1 }, sourcetest.WaitLimit, watchPoll)
	assert.Equal(t, []string{faultConsumerInfo}, rec.Faults())
	assert.Equal(t, 1, logs.FilterLevelExact(zap.DebugLevel).FilterMessage("NATS consumers: unusable ack advisory").Len())
	// So does one dated in the future (anyone in the account may publish there).
	future := fmt.Sprintf(`{"type":%q,"stream":%q,"consumer":"billing","stream_seq":1,"timestamp":%q}`,
		ackAdvisoryType, stream, time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
	require.NoError(t, p.Publish(ackAdvisoryPrefix+stream+".billing", []byte(future)))
	require.NoError(t, p.Flush())
	require.Eventually(t, func() bool { return len(rec.Faults()) == 2 }, sourcetest.WaitLimit, watchPoll)
	assert.Equal(t, []string{faultConsumerInfo, faultConsumerInfo}, rec.Faults())

	// Sampling off: unsubscribed at the next poll.
	sampledConsumer(t, st, "billing", "")
	w.poll(ctx)
	assert.False(t, sub.IsValid(), "no sampling, no subscription")
	assert.Nil(t, w.known[billingKey].acks)
	// On again, then the consumer deleted.
	sampledConsumer(t, st, "billing", "50%")
	w.poll(ctx)
	sub = w.known[billingKey].acks
	require.NotNil(t, sub)
	require.NoError(t, st.DeleteConsumer(ctx, "billing"))
	w.poll(ctx)
	assert.False(t, sub.IsValid(), "a deleted consumer's subscription ends")
	assert.NotContains(t, w.known, billingKey)
	// The watcher's end ends every subscription.
	sampledConsumer(t, st, "audit", "100%")
	w.poll(ctx)
	sub = w.known[auditKey].acks
	require.NotNil(t, sub)
	w.close()
	assert.False(t, sub.IsValid(), "closing the watcher ends its subscriptions")
}

// A shutdown in the middle of a poll leaves no advisory subscription that
// poll opened: closing the watcher ends it.
func TestConsumersJetStreamShutdownMidPoll(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	first, _ := newStream(t, js, "created")
	second, _ := newStream(t, js, "created")
	_ = sampledConsumer(t, first, "billing", "100%")
	firstName := first.CachedInfo().Config.Name
	cfg := watchConfig(firstName)
	cfg.JetStream.Streams = []StreamConfig{{Name: firstName, DeliverPolicy: DeliverAll},
		{Name: second.CachedInfo().Config.Name, DeliverPolicy: DeliverAll}}
	cfg.Consumers.PollInterval = time.Hour // the test polls
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	_, w, _ := driveWatcher(t, cfg, d, rec)

	ctx, cancel := context.WithCancel(context.Background())
	var sub *nats.Subscription
	subscribe := w.subscribe
	w.subscribe = func(subject string, cb nats.MsgHandler) (*nats.Subscription, error) {
		var err error
		sub, err = subscribe(subject, cb)
		cancel() // the collector shuts down while the poll goes on to the second stream
		return sub, err
	}
	w.poll(ctx)
	require.NotNil(t, sub, "billing's advisories were subscribed")
	require.True(t, sub.IsValid())
	w.close()
	assert.False(t, sub.IsValid(), "closing the watcher ends the subscription of the interrupted poll")
}

// A user that may not subscribe to the ack advisories: the refusal, which
// the server sends after the SUB, is noticed, the subscription ended, the
// user warned (once) of the subject it needs, and the subscription tried
// again at the next poll; meanwhile the floor dates every ack.
func TestConsumersJetStreamAdvisoriesDenied(t *testing.T) {
	requireServer(t)
	addr := startDenyingProxy(t, ackAdvisoryPrefix)
	js := jsClient(t)
	st, _ := newStream(t, js, "created")
	stream := st.CachedInfo().Config.Name
	_ = sampledConsumer(t, st, "billing", "100%")
	cfg := watchConfig(stream)
	cfg.Consumers.PollInterval = time.Hour // the test polls
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	s, w, logs := driveWatcherAt(t, addr, cfg, d, rec)
	subscribe, calls := w.subscribe, 0
	w.subscribe = func(subject string, cb nats.MsgHandler) (*nats.Subscription, error) {
		calls++
		sub, err := subscribe(subject, cb)
		if sub != nil {
			assert.NoError(t, err)
			assert.Fail(t, "a refused subscription was kept", subject)
		}
		return sub, err
	}
	ctx := context.Background()

	w.poll(ctx)
	w.poll(ctx)
	key := consumerKey{stream, "billing"}
	require.Contains(t, w.known, key, "billing is watched all the same")
	assert.Nil(t, w.known[key].acks, "no advisory subscription")
	assert.Equal(t, 2, calls, "tried again at the next poll")
	assert.False(t, s.seqs[stream].sampling.Load(), "no sequences remembered for advisories that never come")
	warned := logs.FilterLevelExact(zap.WarnLevel).FilterMessageSnippet("refuses the subscription to a consumer's ack advisories")
	require.Equal(t, 1, warned.Len(), "warned once, not at every poll")
	assert.Equal(t, ackAdvisoryPrefix+stream+".billing", warned.All()[0].ContextMap()["subject"])
}

func TestDeniesSubscription(t *testing.T) {
	const subject = "$JS.EVENT.METRIC.CONSUMER.ACK.ORDERS.billing"
	// As nats.go reports the server's -ERR.
	denied := fmt.Errorf("%w: %s", nats.ErrPermissionViolation, `Permissions Violation for Subscription to "`+subject+`"`)
	assert.True(t, deniesSubscription(denied, subject))
	assert.False(t, deniesSubscription(denied, subject+"2"), "another subject's refusal")
	assert.False(t, deniesSubscription(fmt.Errorf("%w: %s", nats.ErrPermissionViolation, `Permissions Violation for Publish to "`+subject+`"`), subject))
	assert.False(t, deniesSubscription(nats.ErrSlowConsumer, subject))
	assert.False(t, deniesSubscription(nil, subject))
}
