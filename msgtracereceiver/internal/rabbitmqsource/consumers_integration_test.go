package rabbitmqsource

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// An application consumes queue billing with manual acks; queue idle has
// no consumer. Every delivery to billing's consumer yields
// one settle span (group = the queue), from the message's creation to the
// deliver event; idle none.
func TestConsumersRabbitMQDeliveriesSettle(t *testing.T) {
	requireBroker(t)
	sourcetest.EnableFirehose(t)
	p := newProducer(t)
	billing, idle := sourcetest.Unique("billing"), sourcetest.Unique("idle")
	for _, q := range []string{billing, idle} {
		_, err := p.ch.QueueDeclare(q, false, true, false, false, nil)
		require.NoError(t, err)
	}
	appCh, err := p.conn.Channel()
	require.NoError(t, err)
	require.NoError(t, appCh.Qos(1, 0, false)) // one at a time: a requeued message comes back first
	app, err := appCh.Consume(billing, "", false, false, false, false, nil)
	require.NoError(t, err)

	d, rec := startDeliveriesTap(t, billing, idle)
	ack := func(want string) amqp.Delivery { return nextDelivery(t, app, want) }
	// Probes reach the tap once it is bound; the application acks them.
	rec.WaitTapping(t, "probe", func(id string) {
		p.publish(t, "", billing, amqp.Publishing{MessageId: id})
		require.NoError(t, ack(id).Ack(false))
	})

	created := time.Now().Add(-3 * time.Second).Truncate(time.Second)
	const n = 3
	for i := range n {
		pub := amqp.Publishing{MessageId: fmt.Sprintf("m-%d", i), Timestamp: created}
		if i == 0 {
			pub.Headers = amqp.Table{"traceparent": traceparentA}
		}
		p.publish(t, "", billing, pub)
		p.publish(t, "", idle, amqp.Publishing{MessageId: fmt.Sprintf("idle-%d", i)})
	}
	for i := range n {
		require.NoError(t, ack(fmt.Sprintf("m-%d", i)).Ack(false))
	}
	p.publish(t, "", billing, amqp.Publishing{MessageId: "last"})
	require.NoError(t, ack("last").Ack(false))
	rec.WaitIDs(t, "last")

	delivered := len(rec.Messages()) // probes included: every deliver event the tap saw
	spans := d.WaitSettles(t, billing, delivered)
	time.Sleep(4 * deliveriesPoll) // a late extra span would show now
	spans = d.SettleSpans(billing)
	assert.Len(t, spans, delivered, "one settle span per message delivered")
	byID := map[string]int{}
	for _, s := range spans {
		assert.Equal(t, "deliver "+billing, s.Name())
		op, _ := s.Attributes().Get("messaging.operation.name")
		assert.Equal(t, "deliver", op.Str())
		byID[s.SpanID().String()]++
		if s.ParentSpanID().String() == "00f067aa0ba902b7" {
			assert.Equal(t, created.UnixNano(), s.StartTimestamp().AsTime().UnixNano(), "starts at the message's timestamp")
			assert.GreaterOrEqual(t, s.EndTimestamp().AsTime().Sub(created), 3*time.Second, "ends at the delivery")
		}
	}
	for id, c := range byID {
		assert.Equal(t, 1, c, "span %s once", id)
	}
	assert.Empty(t, d.SettleSpans(idle), "nothing was delivered from the queue without a consumer")
	h := d.WaitPoint(t, consumers.MetricTimeInQueue, billing, func(p sourcetest.Point) bool { return p.Count == uint64(delivered) })
	assert.GreaterOrEqual(t, h.Double, float64(n)*3, "the three old messages waited at least 3s each")
}

// A message the application nacks with requeue comes back, and the tap sees
// a second deliver event for it (flagged by the firehose's `redelivered`
// header, an AMQP signed int): it still yields one settle span per message
// and queue, and the time-in-queue histogram counts it once. Classic and
// quorum queues (whose redelivery also carries x-delivery-count).
func TestConsumersRabbitMQRequeuedOnce(t *testing.T) {
	requireBroker(t)
	sourcetest.EnableFirehose(t)
	for _, c := range []struct {
		name string
		args amqp.Table
	}{
		{"classic", nil},
		{"quorum", amqp.Table{"x-queue-type": "quorum"}},
	} {
		t.Run(c.name, func(t *testing.T) { testRequeuedOnce(t, c.args) })
	}
}

func testRequeuedOnce(t *testing.T, queueArgs amqp.Table) {
	p := newProducer(t)
	queue := sourcetest.Unique("requeue")
	// Quorum queues are durable and never exclusive or auto-deleted.
	durable := queueArgs != nil
	_, err := p.ch.QueueDeclare(queue, durable, !durable, false, false, queueArgs)
	require.NoError(t, err)
	t.Cleanup(func() {
		if ch, err := p.conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(queue, false, false, false)
		}
	})
	appCh, err := p.conn.Channel()
	require.NoError(t, err)
	require.NoError(t, appCh.Qos(1, 0, false)) // one at a time: the requeued message comes back first
	app, err := appCh.Consume(queue, "", false, false, false, false, nil)
	require.NoError(t, err)

	d, rec := startDeliveriesTap(t, queue)
	next := func(want string) amqp.Delivery { return nextDelivery(t, app, want) }
	rec.WaitTapping(t, "probe", func(id string) {
		p.publish(t, "", queue, amqp.Publishing{MessageId: id})
		require.NoError(t, next(id).Ack(false))
	})

	p.publish(t, "", queue, amqp.Publishing{MessageId: "nacked", Headers: amqp.Table{"traceparent": traceparentA}})
	first := next("nacked")
	require.False(t, first.Redelivered)
	require.NoError(t, first.Nack(false, true))
	again := next("nacked")
	require.True(t, again.Redelivered, "the broker redelivers the requeued message")
	require.NoError(t, again.Ack(false))
	p.publish(t, "", queue, amqp.Publishing{MessageId: "last"})
	require.NoError(t, next("last").Ack(false))
	rec.WaitIDs(t, "last")

	// Every deliver event the tap saw, the redelivery included, by message.
	events := map[string]int{}
	for _, m := range rec.Messages() {
		events[m.ID]++
	}
	require.Equal(t, 2, events["nacked"], "the tap saw the delivery and the redelivery: %v", events)
	d.WaitSettles(t, queue, len(events))
	time.Sleep(4 * deliveriesPoll) // a late extra span would show now
	spans := d.SettleSpans(queue)
	assert.Len(t, spans, len(events), "one settle span per message, not per delivery")
	byID := map[string]int{}
	for _, s := range spans {
		byID[s.SpanID().String()]++
	}
	for id, c := range byID {
		assert.Equal(t, 1, c, "settle span %s", id)
	}
	h := d.WaitPoint(t, consumers.MetricTimeInQueue, queue, func(p sourcetest.Point) bool { return p.Count >= uint64(len(events)) })
	assert.Equal(t, uint64(len(events)), h.Count, "time in queue counts each message once")
}

// deliveriesPoll is the flush interval of the taps of these tests.
const deliveriesPoll = 50 * time.Millisecond

// startDeliveriesTap starts a firehose tap of the deliver events of queues
// with consumers enabled, stopped when the test ends.
func startDeliveriesTap(t *testing.T, queues ...string) (*sourcetest.Derived, *sourcetest.Recorder) {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.Firehose.Events = []string{EventDeliver}
	cfg.Firehose.Queues = queues
	cfg.Consumers.Enabled = true
	cfg.Consumers.PollInterval = deliveriesPoll
	require.NoError(t, cfg.Validate())
	require.NoError(t, cfg.Consumers.Validate())
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	src, err := New(cfg, d.Settings(t, rec))
	require.NoError(t, err)
	sourcetest.Start(t, src, rec)
	t.Cleanup(func() { sourcetest.Shutdown(t, src) })
	return d, rec
}

// nextDelivery is the application's next delivery, which must be want.
func nextDelivery(t *testing.T, app <-chan amqp.Delivery, want string) amqp.Delivery {
	t.Helper()
	select {
	case m := <-app:
		require.Equal(t, want, m.MessageId)
		return m
	case <-time.After(sourcetest.WaitLimit):
		t.Fatalf("the application never got %s", want)
	}
	return amqp.Delivery{}
}
