package natssource

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
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

const (
	traceparentSettle = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	watchPoll         = 50 * time.Millisecond
)

func jsClient(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(producer(t))
	require.NoError(t, err)
	return js
}

// newStream creates a memory stream of a unique name with subjects made
// from its lowercased name and suffixes, deleted after the test.
func newStream(t *testing.T, js jetstream.JetStream, suffixes ...string) (jetstream.Stream, []string) {
	t.Helper()
	name := strings.ToUpper(sourcetest.Unique("ORDERS"))
	subjects := make([]string, 0, len(suffixes))
	for _, s := range suffixes {
		subjects = append(subjects, strings.ToLower(name)+"."+s)
	}
	st, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: name, Subjects: subjects, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	return st, subjects
}

// appConsumer creates an application's durable pull consumer of stream.
func appConsumer(t *testing.T, st jetstream.Stream, name string, ack jetstream.AckPolicy, filter string) jetstream.Consumer {
	t.Helper()
	c, err := st.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{
		Durable: name, AckPolicy: ack, FilterSubject: filter, AckWait: time.Minute,
	})
	require.NoError(t, err)
	return c
}

// watchConfig taps stream (an ordered consumer) with consumers watched.
// The tests' streams are new: deliver_policy all sees every message even
// when it is published before the tap has created its consumer.
func watchConfig(stream string) *Config {
	cfg := NewDefaultConfig()
	cfg.JetStream.Streams = []StreamConfig{{Name: stream, DeliverPolicy: DeliverAll}}
	cfg.Consumers.Enabled = true
	cfg.Consumers.PollInterval = watchPoll
	return cfg
}

func startWatching(t *testing.T, cfg *Config, d *sourcetest.Derived, rec *sourcetest.Recorder) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	require.NoError(t, cfg.Consumers.Validate())
	src, err := New(cfg, d.Settings(t, rec))
	require.NoError(t, err)
	sourcetest.Start(t, src, rec)
	t.Cleanup(func() { sourcetest.Shutdown(t, src) })
}

// publish stores one message per id on subject and returns the ids.
func publish(t *testing.T, js jetstream.JetStream, subject string, ids ...string) []string {
	t.Helper()
	for _, id := range ids {
		_, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Header: nats.Header{"message_id": {id}}, Data: []byte(id)})
		require.NoError(t, err)
	}
	return ids
}

// fetch pulls n messages of c, unacknowledged.
func fetch(t *testing.T, c jetstream.Consumer, n int) []jetstream.Msg {
	t.Helper()
	var out []jetstream.Msg
	for len(out) < n {
		batch, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			out = append(out, m)
		}
		require.NoError(t, batch.Error())
	}
	return out
}

// ack acknowledges msgs and waits for the server to confirm each.
func ack(t *testing.T, msgs ...jetstream.Msg) {
	t.Helper()
	for _, m := range msgs {
		require.NoError(t, m.DoubleAck(context.Background()))
	}
}

// destPoint is the latest point of metric for group on destination.
func destPoint(d *sourcetest.Derived, metric, group, dest string) (sourcetest.Point, bool) {
	all := d.Metrics.AllMetrics()
	for i := len(all) - 1; i >= 0; i-- {
		var found *sourcetest.Point
		sourcetest.ForPoints(all[i], metric, func(p sourcetest.Point) {
			g, _ := p.Attrs.Get("messaging.consumer.group.name")
			dst, _ := p.Attrs.Get("messaging.destination.name")
			if found == nil && g.Str() == group && dst.Str() == dest {
				found = &p
			}
		})
		if found != nil {
			return *found, true
		}
	}
	return sourcetest.Point{}, false
}

// metricGroups are the groups every consumer metric sent so far names.
func metricGroups(d *sourcetest.Derived) map[string]bool {
	out := map[string]bool{}
	for _, md := range d.Metrics.AllMetrics() {
		for _, name := range []string{consumers.MetricTimeInQueue, consumers.MetricLagMessages} {
			sourcetest.ForPoints(md, name, func(p sourcetest.Point) {
				g, _ := p.Attrs.Get("messaging.consumer.group.name")
				out[g.Str()] = true
			})
		}
	}
	return out
}

// Two application consumers pull a tapped stream: billing acknowledges
// every message, audit none at first. Billing yields one settle span per
// message once its ack floor passes it, from the message's stored time,
// child of the producer's span when it carries one; audit's lag is every
// message, and acks above its floor settle nothing until the floor moves.
func TestConsumersJetStreamAckFloors(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	st, subjects := newStream(t, js, "created")
	subject := subjects[0]
	billing := appConsumer(t, st, "billing", jetstream.AckExplicitPolicy, "")
	audit := appConsumer(t, st, "audit", jetstream.AckExplicitPolicy, "")
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	startWatching(t, watchConfig(st.CachedInfo().Config.Name), d, rec)
	d.WaitWatched(t, "billing")
	d.WaitWatched(t, "audit")

	const n = 5
	var want []string
	for i := range n {
		id := fmt.Sprintf("order-%d", i)
		h := nats.Header{"message_id": {id}}
		if i == 0 {
			h.Set("traceparent", traceparentSettle)
		}
		_, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Header: h, Data: []byte(id)})
		require.NoError(t, err)
		want = append(want, id)
	}
	rec.WaitIDs(t, want...)

	billed := fetch(t, billing, n)
	audited := fetch(t, audit, n)
	// Delivered but not acknowledged: nothing is settled.
	time.Sleep(4 * watchPoll)
	assert.Empty(t, d.SettleSpans("billing"), "delivered but unacknowledged messages are not settled")

	beforeAck := time.Now()
	ack(t, billed...)
	spans := d.WaitSettles(t, "billing", n)
	assert.Len(t, spans, n, "one settle span per message")
	stored := map[int64]bool{}
	for _, id := range want {
		stored[rec.ByID()[id][0].Timestamp.UnixNano()] = true
	}
	withParent := 0
	for _, s := range spans {
		assert.Equal(t, "ack "+subject, s.Name(), "named after the receive spans' destination, the subject")
		attrs := s.Attributes().AsRaw()
		assert.Equal(t, "settle", attrs["messaging.operation.type"])
		assert.Equal(t, "ack", attrs["messaging.operation.name"])
		assert.Equal(t, "nats", attrs["messaging.system"])
		assert.Equal(t, subject, attrs["messaging.destination.name"])
		assert.Equal(t, "billing", attrs["messaging.consumer.group.name"])
		assert.GreaterOrEqual(t, s.EndTimestamp().AsTime().UnixNano(), beforeAck.UnixNano(), "dated after the ack")
		assert.True(t, stored[s.StartTimestamp().AsTime().UnixNano()], "a settle span starts at its message's stored time")
		if s.ParentSpanID().String() == "b7ad6b7169203331" {
			withParent++
			assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", s.TraceID().String())
		}
	}
	assert.Equal(t, 1, withParent, "the message with a traceparent settles under the producer's span")
	assert.Empty(t, d.SettleSpans("audit"), "audit acknowledged nothing")

	d.WaitPoint(t, consumers.MetricLagMessages, "audit", func(p sourcetest.Point) bool { return p.Int == n })
	d.WaitPoint(t, consumers.MetricLagMessages, "billing", func(p sourcetest.Point) bool { return p.Int == 0 })
	h := d.WaitPoint(t, consumers.MetricTimeInQueue, "billing", func(p sourcetest.Point) bool { return p.Count == n })
	assert.Positive(t, h.Double, "billing's messages waited for their acks")
	age, _ := d.Latest(consumers.MetricLagAge, "audit")
	assert.Positive(t, age.Double, "audit's oldest unacknowledged message has an age")

	// Audit acknowledges all but the oldest: the ack floor stays before it,
	// so nothing of audit is settled yet.
	ack(t, audited[1:]...)
	time.Sleep(4 * watchPoll)
	assert.Empty(t, d.SettleSpans("audit"), "acks above the ack floor settle nothing until the floor passes them")
	lag, _ := d.Latest(consumers.MetricLagMessages, "audit")
	assert.Equal(t, int64(n), lag.Int, "the lag is what is at or above the ack floor")
	// Then the oldest: the floor jumps past every message.
	ack(t, audited[0])
	assert.Len(t, d.WaitSettles(t, "audit", n), n)
	d.WaitPoint(t, consumers.MetricLagMessages, "audit", func(p sourcetest.Point) bool { return p.Int == 0 })
	assert.Empty(t, rec.Faults())
}

// A consumer that stops acknowledging: its lag grows with what the tap
// observes, and what it holds past stuck_after counts as stuck.
func TestConsumersJetStreamConsumerStopsAcking(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	st, subjects := newStream(t, js, "created")
	worker := appConsumer(t, st, "worker", jetstream.AckExplicitPolicy, "")
	cfg := watchConfig(st.CachedInfo().Config.Name)
	cfg.Consumers.StuckAfter = 500 * time.Millisecond
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	startWatching(t, cfg, d, rec)
	d.WaitWatched(t, "worker")

	rec.WaitIDs(t, publish(t, js, subjects[0], "a", "b", "c")...)
	ack(t, fetch(t, worker, 3)...)
	d.WaitSettles(t, "worker", 3)
	d.WaitPoint(t, consumers.MetricLagMessages, "worker", func(p sourcetest.Point) bool { return p.Int == 0 })

	// The worker pulls the next messages and never acknowledges them.
	rec.WaitIDs(t, publish(t, js, subjects[0], "d", "e")...)
	fetch(t, worker, 2)
	d.WaitPoint(t, consumers.MetricLagMessages, "worker", func(p sourcetest.Point) bool { return p.Int == 2 })
	rec.WaitIDs(t, publish(t, js, subjects[0], "f", "g")...)
	d.WaitPoint(t, consumers.MetricLagMessages, "worker", func(p sourcetest.Point) bool { return p.Int == 4 })
	d.WaitPoint(t, consumers.MetricStuck, "worker", func(p sourcetest.Point) bool { return p.Int == 4 })
	age, _ := d.Latest(consumers.MetricLagAge, "worker")
	assert.GreaterOrEqual(t, age.Double, cfg.Consumers.StuckAfter.Seconds(), "its oldest unacknowledged message is at least stuck_after old")
	assert.Len(t, d.SettleSpans("worker"), 3, "nothing more is settled")
}

// The tap's own consumers (a durable of the taps, ordered consumers) are
// never watched, and an application consumer that is deleted is forgotten.
func TestConsumersJetStreamOwnAndDeletedConsumers(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	durableSt, durableSubjects := newStream(t, js, "created")
	orderedSt, orderedSubjects := newStream(t, js, "created")
	durableName := durableSt.CachedInfo().Config.Name
	_ = appConsumer(t, durableSt, "billing", jetstream.AckExplicitPolicy, "")
	_ = appConsumer(t, durableSt, "audit", jetstream.AckExplicitPolicy, "")
	_ = appConsumer(t, orderedSt, "ledger", jetstream.AckExplicitPolicy, "")

	cfg := watchConfig(durableName)
	cfg.JetStream.Streams = []StreamConfig{
		{Name: durableName, Durable: "taps", DeliverPolicy: DeliverAll},
		{Name: orderedSt.CachedInfo().Config.Name, DeliverPolicy: DeliverAll},
	}
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	startWatching(t, cfg, d, rec)
	for _, g := range []string{"billing", "audit", "ledger"} {
		d.WaitWatched(t, g)
	}
	rec.WaitIDs(t, publish(t, js, durableSubjects[0], "m1")...)
	rec.WaitIDs(t, publish(t, js, orderedSubjects[0], "m2")...)
	d.WaitPoint(t, consumers.MetricLagMessages, "billing", func(p sourcetest.Point) bool { return p.Int == 1 })
	d.WaitPoint(t, consumers.MetricLagMessages, "ledger", func(p sourcetest.Point) bool { return p.Int == 1 })

	// The tap's consumers exist on the server, and are not watched.
	names := map[string]bool{}
	for _, st := range []jetstream.Stream{durableSt, orderedSt} {
		l := st.ConsumerNames(context.Background())
		for n := range l.Name() {
			names[n] = true
		}
		require.NoError(t, l.Err())
	}
	require.True(t, names["taps"], "the taps' durable exists")
	groups := metricGroups(d)
	assert.False(t, groups["taps"], "the taps' durable is not watched")
	for n := range names {
		if strings.HasPrefix(n, "otelcol-msgtrace") {
			assert.False(t, groups[n], "the tap's ordered consumer %s is not watched", n)
		}
	}
	assert.Equal(t, map[string]bool{"billing": true, "audit": true, "ledger": true}, groups)

	require.NoError(t, durableSt.DeleteConsumer(context.Background(), "billing"))
	require.Eventually(t, func() bool {
		return d.InLastBatch(consumers.MetricLagMessages, "audit") && !d.InLastBatch(consumers.MetricLagMessages, "billing")
	}, sourcetest.WaitLimit, watchPoll, "the deleted consumer is no longer reported")
}

// A consumer with ack policy none sends no acks to see: its messages are
// settled when delivered.
func TestConsumersJetStreamAckNoneSettlesAtDelivery(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	st, subjects := newStream(t, js, "created")
	sampler := appConsumer(t, st, "sampler", jetstream.AckNonePolicy, "")
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	startWatching(t, watchConfig(st.CachedInfo().Config.Name), d, rec)
	d.WaitWatched(t, "sampler")

	rec.WaitIDs(t, publish(t, js, subjects[0], "a", "b", "c")...)
	d.WaitPoint(t, consumers.MetricLagMessages, "sampler", func(p sourcetest.Point) bool { return p.Int == 3 })
	fetch(t, sampler, 2)
	assert.Len(t, d.WaitSettles(t, "sampler", 2), 2, "delivered is settled")
	d.WaitPoint(t, consumers.MetricLagMessages, "sampler", func(p sourcetest.Point) bool { return p.Int == 1 })
}

// A consumer filtered on one subject of a tapped stream is watched on that
// subject only: its ack floor says nothing of the others.
func TestConsumersJetStreamFilteredConsumer(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	st, subjects := newStream(t, js, "eu", "us")
	eu, us := subjects[0], subjects[1]
	euBilling := appConsumer(t, st, "eu-billing", jetstream.AckExplicitPolicy, eu)
	_ = appConsumer(t, st, "all", jetstream.AckExplicitPolicy, "")
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	startWatching(t, watchConfig(st.CachedInfo().Config.Name), d, rec)
	d.WaitWatched(t, "eu-billing")
	d.WaitWatched(t, "all")

	rec.WaitIDs(t, publish(t, js, eu, "eu-1", "eu-2")...)
	rec.WaitIDs(t, publish(t, js, us, "us-1", "us-2", "us-3")...)
	ack(t, fetch(t, euBilling, 2)...)
	spans := d.WaitSettles(t, "eu-billing", 2)
	for _, s := range spans {
		assert.Equal(t, "ack "+eu, s.Name())
	}
	require.Eventually(t, func() bool {
		e, ok1 := destPoint(d, consumers.MetricLagMessages, "eu-billing", eu)
		a, ok2 := destPoint(d, consumers.MetricLagMessages, "all", us)
		return ok1 && e.Int == 0 && ok2 && a.Int == 3
	}, sourcetest.WaitLimit, watchPoll, "eu-billing settled its subject; all lags on the other")
	_, ok := destPoint(d, consumers.MetricLagMessages, "eu-billing", us)
	assert.False(t, ok, "a consumer is not reported on a subject its filter does not cover")
	assert.Len(t, d.SettleSpans("eu-billing"), 2)
}

// A subject first seen after a consumer's first poll (a wildcard stream):
// what the consumer acknowledged before the poll that first sees the
// subject is settled there, not taken for its baseline.
func TestConsumersJetStreamNewSubject(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	st, subjects := newStream(t, js, ">")
	root := strings.TrimSuffix(subjects[0], ">")
	worker := appConsumer(t, st, "worker", jetstream.AckExplicitPolicy, "")
	cfg := watchConfig(st.CachedInfo().Config.Name)
	// Slow polls: the message is observed and acknowledged between two.
	cfg.Consumers.PollInterval = 700 * time.Millisecond
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	startWatching(t, cfg, d, rec)

	rec.WaitIDs(t, publish(t, js, root+"warmup", "w")...)
	d.WaitWatched(t, "worker")
	ack(t, fetch(t, worker, 1)...)
	d.WaitSettles(t, "worker", 1)

	rec.WaitIDs(t, publish(t, js, root+"eu", "first-on-eu")...)
	ack(t, fetch(t, worker, 1)...)
	spans := d.WaitSettles(t, "worker", 2)
	names := map[string]bool{}
	for _, s := range spans {
		names[s.Name()] = true
	}
	assert.True(t, names["ack "+root+"eu"], "the first message of a new subject is settled, got %v", names)
}

// Replies the watcher cannot read (a JetStream API served by this test on
// a domain of its own) are counted as consumer_info faults and logged at
// debug; a consumer in them is not taken for deleted, and a good consumer
// listed next to a bad one is still watched.
func TestConsumersJetStreamBadReplies(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	domain := sourcetest.Unique("fake")
	api := "$JS." + domain + ".API."
	const stream = "ORDERS"
	billing := `{"stream_name":"ORDERS","name":"billing","config":{"ack_policy":"explicit"},` +
		`"delivered":{"consumer_seq":3,"stream_seq":3},"ack_floor":{"consumer_seq":3,"stream_seq":3}}`
	list := func(consumers ...string) string {
		return fmt.Sprintf(`{"total":%d,"offset":0,"limit":256,"consumers":[%s]}`, len(consumers), strings.Join(consumers, ","))
	}
	replies := []string{
		list(billing),
		`not json`,
		list(billing, `{"stream_name":"ORDERS","name":"x","config":{"ack_policy":"bogus"}}`),
		list(billing, `{"stream_name":"ORDERS","config":{"ack_policy":"explicit"}}`),
		list(billing, `{"stream_name":"OTHER","name":"y","config":{"ack_policy":"explicit"}}`),
		list(billing, `{"stream_name":"ORDERS","name":"z","config":{"ack_policy":"explicit"},"ack_floor":{"stream_seq":18446744073709551615}}`),
		list(billing, `{"stream_name":"ORDERS","name":"v","config":{"ack_policy":"none"},"delivered":{"stream_seq":4}}`),
	}
	// One fault per reply but the first: not json, an unknown ack policy
	// (the whole page is unreadable), no name, another stream, a floor that
	// would wrap, one beyond the stream's last sequence (3).
	const faultsPerRound = 6
	var lists atomic.Int64
	sub, err := nc.Subscribe(api+">", func(m *nats.Msg) {
		switch m.Subject {
		case api + "STREAM.INFO." + stream:
			_ = m.Respond([]byte(`{"config":{"name":"ORDERS","subjects":["orders.created"]},"state":{"last_seq":3}}`))
		case api + "CONSUMER.LIST." + stream:
			_ = m.Respond([]byte(replies[int(lists.Add(1)-1)%len(replies)]))
		default: // the tap's ordered consumer: refused
			_ = m.Respond([]byte(`{"error":{"code":503,"err_code":10039,"description":"jetstream not enabled for account"}}`))
		}
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	cfg := watchConfig(stream)
	cfg.JetStream.Domain = domain
	require.NoError(t, cfg.Validate())
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	set := d.Settings(t, rec)
	core, logs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	src, err := New(cfg, set)
	require.NoError(t, err)
	sourcetest.Start(t, src, rec)
	defer sourcetest.Shutdown(t, src)

	d.WaitWatched(t, "billing")
	require.Eventually(t, func() bool { return lists.Load() > 2*int64(len(replies)) },
		sourcetest.WaitLimit, watchPoll, "the watcher polls on")
	faults := 0
	for _, f := range rec.Faults() {
		if f == faultConsumerInfo {
			faults++
		}
	}
	assert.GreaterOrEqual(t, faults, 2*faultsPerRound, "every unreadable reply counts a fault")
	assert.NotZero(t, logs.FilterLevelExact(zap.DebugLevel).FilterMessageSnippet("NATS consumers:").Len(), "and is logged at debug")
	groups := metricGroups(d)
	assert.False(t, groups["x"] || groups["y"] || groups["z"] || groups["v"], "consumers of unusable infos are not watched")
	assert.Equal(t, 1, logs.FilterMessage("NATS consumers: watching consumers").Len(),
		"billing was watched once and never taken for deleted")
}

// inLastBatch reports whether the last metrics sent have a point of metric
// for group on dest.
func inLastBatch(d *sourcetest.Derived, metric, group, dest string) bool {
	all := d.Metrics.AllMetrics()
	if len(all) == 0 {
		return false
	}
	found := false
	sourcetest.ForPoints(all[len(all)-1], metric, func(p sourcetest.Point) {
		g, _ := p.Attrs.Get("messaging.consumer.group.name")
		dst, _ := p.Attrs.Get("messaging.destination.name")
		found = found || (g.Str() == group && dst.Str() == dest)
	})
	return found
}

// A consumer whose filter narrows away from a subject is dropped there: it
// no longer pins that subject's messages in the index, and its series there
// ends.
func TestConsumersJetStreamFilterNarrows(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	st, subjects := newStream(t, js, "eu", "us")
	eu, us := subjects[0], subjects[1]
	stream := st.CachedInfo().Config.Name
	_ = appConsumer(t, st, "narrow", jetstream.AckExplicitPolicy, strings.ToLower(stream)+".*")
	all := appConsumer(t, st, "all", jetstream.AckExplicitPolicy, "")
	cfg := watchConfig(stream)
	cfg.Consumers.PollInterval = time.Hour // the test polls
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	s, w, _ := driveWatcher(t, cfg, d, rec)
	ctx := context.Background()

	rec.WaitIDs(t, publish(t, js, eu, "eu-1", "eu-2")...)
	rec.WaitIDs(t, publish(t, js, us, "us-1", "us-2")...)
	w.poll(ctx) // baselines of both on both subjects
	require.True(t, inLastBatch(d, consumers.MetricLagMessages, "narrow", us))
	four := s.tracker.TrackedBytes()
	require.Positive(t, four)
	ack(t, fetch(t, all, 4)...)
	// narrow acknowledges nothing, and now covers eu only.
	_, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "narrow", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: eu, AckWait: time.Minute,
	})
	require.NoError(t, err)
	w.poll(ctx)

	assert.Equal(t, four/2, s.tracker.TrackedBytes(), "only eu's messages are pinned, by narrow")
	assert.False(t, inLastBatch(d, consumers.MetricLagMessages, "narrow", us), "narrow's series on us ended")
	assert.True(t, inLastBatch(d, consumers.MetricLagMessages, "narrow", eu))
	assert.True(t, inLastBatch(d, consumers.MetricLagMessages, "all", us))
}

// A consumer deleted on one stream while one of the same name lives on
// another is dropped from the first stream's subjects only.
func TestConsumersJetStreamSameNameOnTwoStreams(t *testing.T) {
	requireServer(t)
	js := jsClient(t)
	a, aSubjects := newStream(t, js, "created")
	b, bSubjects := newStream(t, js, "created")
	aName, bName := a.CachedInfo().Config.Name, b.CachedInfo().Config.Name
	_ = appConsumer(t, a, "billing", jetstream.AckExplicitPolicy, "")
	_ = appConsumer(t, b, "billing", jetstream.AckExplicitPolicy, "")
	other := appConsumer(t, a, "other", jetstream.AckExplicitPolicy, "")
	cfg := watchConfig(aName)
	cfg.JetStream.Streams = []StreamConfig{{Name: aName, DeliverPolicy: DeliverAll}, {Name: bName, DeliverPolicy: DeliverAll}}
	cfg.Consumers.PollInterval = time.Hour // the test polls
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	s, w, _ := driveWatcher(t, cfg, d, rec)
	ctx := context.Background()

	rec.WaitIDs(t, publish(t, js, aSubjects[0], "a-1", "a-2")...)
	w.poll(ctx)
	require.True(t, inLastBatch(d, consumers.MetricLagMessages, "billing", aSubjects[0]))
	ack(t, fetch(t, other, 2)...)
	require.NoError(t, a.DeleteConsumer(ctx, "billing"))
	w.poll(ctx)

	assert.Zero(t, s.tracker.TrackedBytes(), "the deleted billing pins nothing of stream A")
	assert.False(t, inLastBatch(d, consumers.MetricLagMessages, "billing", aSubjects[0]), "its series on A ended")
	assert.True(t, inLastBatch(d, consumers.MetricLagMessages, "billing", bSubjects[0]), "billing of B is still watched")
	assert.Len(t, d.SettleSpans("other"), 2)
}

// Each stream's poll has its own connect_timeout: a stream whose consumer
// list never comes does not starve the next one, and is warned of, at most
// every 10 minutes.
func TestConsumersJetStreamSlowStream(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	domain := sourcetest.Unique("slow")
	api := "$JS." + domain + ".API."
	sub, err := nc.Subscribe(api+">", func(m *nats.Msg) {
		switch m.Subject {
		case api + "STREAM.INFO.SLOW":
			_ = m.Respond([]byte(`{"config":{"name":"SLOW","subjects":["slow.created"]},"state":{"last_seq":3}}`))
		case api + "CONSUMER.LIST.SLOW": // never answered
		case api + "STREAM.INFO.FAST":
			_ = m.Respond([]byte(`{"config":{"name":"FAST","subjects":["fast.created"]},"state":{"last_seq":3}}`))
		case api + "CONSUMER.LIST.FAST":
			_ = m.Respond([]byte(`{"total":1,"offset":0,"limit":256,"consumers":[{"stream_name":"FAST","name":"billing",` +
				`"config":{"ack_policy":"explicit"},"ack_floor":{"stream_seq":3}}]}`))
		default: // the tap's ordered consumers: refused
			_ = m.Respond([]byte(`{"error":{"code":503,"err_code":10039,"description":"jetstream not enabled for account"}}`))
		}
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	cfg := watchConfig("SLOW")
	cfg.JetStream.Streams = []StreamConfig{{Name: "SLOW", DeliverPolicy: DeliverAll}, {Name: "FAST", DeliverPolicy: DeliverAll}}
	cfg.JetStream.Domain = domain
	cfg.ConnectTimeout = 300 * time.Millisecond
	cfg.Consumers.PollInterval = time.Hour // the test polls
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	_, w, logs := driveWatcher(t, cfg, d, rec)

	w.poll(context.Background())
	w.poll(context.Background())
	assert.Contains(t, w.known, consumerKey{"FAST", "billing"}, "the stream after the slow one is polled")
	slow := logs.FilterLevelExact(zap.WarnLevel).FilterMessageSnippet("no reply in connect_timeout")
	require.Equal(t, 1, slow.Len(), "warned once for two polls")
	assert.Equal(t, "SLOW", slow.All()[0].ContextMap()["stream"])
	assert.Empty(t, rec.Faults(), "a timeout is no fault")
}
