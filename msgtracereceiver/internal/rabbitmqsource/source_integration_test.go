package rabbitmqsource

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

const (
	traceparentA = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	batchSize    = 50
)

// publishScenario sends the four cases every broker test covers, to
// exchange x with routing key rk, and returns the message IDs in order.
func publishScenario(t *testing.T, p *producer, x, rk string) []string {
	t.Helper()
	ts := time.Unix(1700000000, 0)
	p.publish(t, x, rk, amqp.Publishing{
		MessageId: "with-context", CorrelationId: "conv-1", Timestamp: ts, Body: []byte(`{"n":1}`),
		Headers: amqp.Table{"traceparent": traceparentA, "tracestate": "vendor=1"},
	})
	p.publish(t, x, rk, amqp.Publishing{MessageId: "without-context", Body: []byte("plain")})
	p.publish(t, x, rk, amqp.Publishing{
		MessageId: "with-baggage", Body: []byte("b"),
		Headers: amqp.Table{"traceparent": []byte(traceparentA), "baggage": []byte("tenant=acme,with_batch=True")},
	})
	ids := []string{"with-context", "without-context", "with-baggage"}
	for i := range batchSize {
		id := fmt.Sprintf("batch-%02d", i)
		p.publish(t, x, rk, amqp.Publishing{MessageId: id, CorrelationId: "batch", Body: []byte(id)})
		ids = append(ids, id)
	}
	return ids
}

// checkScenario checks what the tap made of publishScenario's messages.
func checkScenario(t *testing.T, rec *sourcetest.Recorder, destination, rk string) {
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
	assert.True(t, m.Timestamp.Equal(time.Unix(1700000000, 0)), "AMQP timestamp property, got %v", m.Timestamp)
	assert.Equal(t, 7, m.BodySize)
	assert.Equal(t, "127.0.0.1", m.ServerAddress)
	assert.Equal(t, 5672, m.ServerPort)
	assert.False(t, m.Observed.IsZero())
	if rk != "" {
		assert.Equal(t, []attribute.KeyValue{semconv.MessagingRabbitMQDestinationRoutingKey(rk)}, m.Attributes)
	} else {
		assert.Empty(t, m.Attributes, "no routing key, no attribute")
	}

	m = one("without-context")
	assert.Empty(t, m.TraceParent)
	assert.Empty(t, m.Baggage)
	assert.True(t, m.Timestamp.IsZero())

	m = one("with-baggage")
	assert.Equal(t, traceparentA, m.TraceParent, "byte-valued headers are read")
	assert.Equal(t, "tenant=acme,with_batch=True", m.Baggage)

	identities := map[string]bool{}
	for i := range batchSize {
		m := one(fmt.Sprintf("batch-%02d", i))
		assert.Equal(t, "batch", m.ConversationID)
		identities[m.Identity] = true
	}
	assert.Len(t, identities, batchSize, "every message has its own identity")
}

func TestFirehosePublish(t *testing.T) {
	requireBroker(t)
	sourcetest.EnableFirehose(t)
	p := newProducer(t)
	x := sourcetest.Unique("orders")
	require.NoError(t, p.ch.ExchangeDeclare(x, "topic", false, true, false, false, nil))
	t.Cleanup(func() { _ = p.ch.ExchangeDelete(x, false, false) })

	cfg := NewDefaultConfig()
	cfg.Firehose.Exchanges = []string{x} // other tests' traffic stays out
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	rec.WaitTapping(t, "probe", func(id string) { p.publish(t, x, "eu.created", amqp.Publishing{MessageId: id}) })
	ids := publishScenario(t, p, x, "eu.created")
	rec.WaitIDs(t, ids...)
	checkScenario(t, rec, x+":eu.created", "eu.created")
	assert.Empty(t, rec.Faults())
}

func TestFirehoseDeliverLeavesTheApplicationAlone(t *testing.T) {
	requireBroker(t)
	sourcetest.EnableFirehose(t)
	p := newProducer(t)
	q := sourcetest.Unique("billing")
	_, err := p.ch.QueueDeclare(q, false, true, false, false, nil)
	require.NoError(t, err)
	app, err := p.ch.Consume(q, "", true, false, false, false, nil)
	require.NoError(t, err)

	cfg := NewDefaultConfig()
	cfg.Firehose.Events = []string{EventPublish, EventDeliver}
	cfg.Firehose.Exchanges = []string{defaultExchange}
	cfg.Firehose.Queues = []string{q}
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	// Probes go through the default exchange to the application's queue.
	rec.WaitTapping(t, "probe", func(id string) { p.publish(t, "", q, amqp.Publishing{MessageId: id}) })
	p.publish(t, "", q, amqp.Publishing{MessageId: "d-1", Headers: amqp.Table{"traceparent": traceparentA}, Body: []byte("x")})

	var appGot []string
	require.Eventually(t, func() bool {
		for {
			select {
			case d := <-app:
				appGot = append(appGot, d.MessageId)
			default:
				return len(appGot) > 0 && appGot[len(appGot)-1] == "d-1"
			}
		}
	}, sourcetest.WaitLimit, 50*time.Millisecond, "the application's consumer still gets its messages")

	require.Eventually(t, func() bool { return len(rec.ByID()["d-1"]) == 2 }, sourcetest.WaitLimit, 50*time.Millisecond,
		"one publish and one deliver observation")
	seen := rec.ByID()["d-1"]
	assert.Equal(t, q, seen[0].Destination, "default exchange: the routing key (the queue) names it")
	assert.Equal(t, q, seen[1].Destination, "the queue equals the routing key, so it is written once")
	assert.NotEqual(t, seen[0].Identity, seen[1].Identity, "publish and delivery are distinct observations")
	assert.Equal(t, traceparentA, seen[1].TraceParent)
}

func TestQueueModeSurvivesAKilledConnection(t *testing.T) {
	requireBroker(t)
	p := newProducer(t)
	x := sourcetest.Unique("events")
	require.NoError(t, p.ch.ExchangeDeclare(x, "topic", false, true, false, false, nil))
	t.Cleanup(func() { _ = p.ch.ExchangeDelete(x, false, false) })
	tapQueue := sourcetest.Unique("msgtrace-tap")
	t.Cleanup(func() { _, _ = p.ch.QueueDelete(tapQueue, false, false, false) })

	cfg := NewDefaultConfig()
	cfg.Mode = ModeQueue
	cfg.Bindings = []BindingConfig{{Exchange: x, RoutingKey: "#"}}
	cfg.Queue.Name = tapQueue // named: it keeps what is routed while the tap reconnects
	cfg.Queue.Expires = time.Minute
	cfg.Reconnect.InitialInterval = 100 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src, connName := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	rec.WaitTapping(t, "probe", func(id string) { p.publish(t, x, "a.b", amqp.Publishing{MessageId: id}) })
	ids := publishScenario(t, p, x, "a.b")
	rec.WaitIDs(t, ids...)
	checkScenario(t, rec, x+":a.b", "a.b")

	sourcetest.CloseRabbitMQConnections(t, connName)
	// Published while the tap may be down: the named queue holds them.
	var during []string
	for i := range 20 {
		id := fmt.Sprintf("during-%02d", i)
		p.publish(t, x, "a.b", amqp.Publishing{MessageId: id})
		during = append(during, id)
	}
	rec.WaitIDs(t, during...)
	ever, _ := rec.Status.Reported(componentstatus.StatusRecoverableError)
	assert.True(t, ever, "the lost connection is reported")
	_, last := rec.Status.Reported(componentstatus.StatusOK)
	assert.True(t, last, "and the recovery too")
	for i := range 20 {
		id := fmt.Sprintf("after-%02d", i)
		p.publish(t, x, "a.b", amqp.Publishing{MessageId: id})
		rec.WaitIDs(t, id)
	}
}

func TestFirehoseRecoversFromAKilledConnection(t *testing.T) {
	requireBroker(t)
	sourcetest.EnableFirehose(t)
	p := newProducer(t)
	x := sourcetest.Unique("payments")
	require.NoError(t, p.ch.ExchangeDeclare(x, "fanout", false, true, false, false, nil))
	t.Cleanup(func() { _ = p.ch.ExchangeDelete(x, false, false) })

	cfg := NewDefaultConfig()
	cfg.Firehose.Exchanges = []string{x}
	cfg.Reconnect.InitialInterval = 100 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src, connName := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)

	rec.WaitTapping(t, "before", func(id string) { p.publish(t, x, "", amqp.Publishing{MessageId: id}) })
	sourcetest.CloseRabbitMQConnections(t, connName)
	// The exclusive queue died with the connection: what is published
	// before the tap is back is not seen, so probe until it is.
	rec.WaitTapping(t, "after", func(id string) { p.publish(t, x, "", amqp.Publishing{MessageId: id}) })
	ids := publishScenario(t, p, x, "")
	rec.WaitIDs(t, ids...)
	checkScenario(t, rec, x, "")
}

func TestNothingIsAcknowledgedUntilDelivered(t *testing.T) {
	requireBroker(t)
	p := newProducer(t)
	x := sourcetest.Unique("audit")
	require.NoError(t, p.ch.ExchangeDeclare(x, "fanout", false, true, false, false, nil))
	t.Cleanup(func() { _ = p.ch.ExchangeDelete(x, false, false) })
	tapQueue := sourcetest.Unique("msgtrace-tap")
	t.Cleanup(func() { _, _ = p.ch.QueueDelete(tapQueue, false, false, false) })

	cfg := NewDefaultConfig()
	cfg.Mode = ModeQueue
	cfg.Bindings = []BindingConfig{{Exchange: x}}
	cfg.Queue.Name = tapQueue
	cfg.Queue.Expires = time.Minute

	// First tap: its pipeline never accepts. Wait until the queue exists
	// and has handed it the message, then stop it.
	stuck := &sourcetest.Recorder{Block: true}
	src, _ := startSource(t, cfg, stuck)
	require.Eventually(t, func() bool {
		q, err := declarePassive(p, tapQueue)
		return err == nil && q.Consumers == 1
	}, sourcetest.WaitLimit, 50*time.Millisecond)
	p.publish(t, x, "", amqp.Publishing{MessageId: "kept"})
	require.Eventually(t, func() bool {
		q, err := declarePassive(p, tapQueue)
		return err == nil && q.Messages == 0 // delivered to the tap, not yet acknowledged
	}, sourcetest.WaitLimit, 50*time.Millisecond)
	sourcetest.Shutdown(t, src)

	// Second tap on the same queue: the message comes back.
	rec := &sourcetest.Recorder{}
	src2, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src2)
	rec.WaitIDs(t, "kept")
}

// declarePassive inspects a queue on a channel of its own (a failed passive
// declare closes the channel).
func declarePassive(p *producer, name string) (amqp.Queue, error) {
	ch, err := p.conn.Channel()
	if err != nil {
		return amqp.Queue{}, err
	}
	defer ch.Close()
	return ch.QueueDeclarePassive(name, false, false, false, false, nil)
}

func TestStartWithBrokerDown(t *testing.T) {
	// Something that accepts and hangs up at once, like a broker that is
	// still starting: Start must return at once, the source must keep
	// retrying, and Shutdown must end the retries.
	broker := sourcetest.StartHangUp(t)
	cfg := NewDefaultConfig()
	cfg.Endpoint = "amqp://" + broker.Addr()
	cfg.Reconnect.InitialInterval = 10 * time.Millisecond
	cfg.Reconnect.MaxInterval = 20 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	require.Eventually(t, func() bool { return broker.Attempts() >= 3 }, sourcetest.WaitLimit, 10*time.Millisecond, "the source retries")
	_, last := rec.Status.Reported(componentstatus.StatusRecoverableError)
	assert.True(t, last, "a broker that is down is reported, not fatal")
	sourcetest.Shutdown(t, src)
	assert.Empty(t, rec.Messages())
}
