package e2e

import (
	"context"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
)

// TestScaleRabbitMQ is the Kafka scale test's shape, smaller, for the
// RabbitMQ firehose tap (issue 16): two replicas of
// testdata/e2e-scale-rabbitmq.yaml consume the firehose through one named
// queue. Messages arrive while one replica is SIGKILLed and another joins;
// every message must be traced, one traced twice (a delivery the killed
// replica had not acknowledged) with the same IDs. Then every replica stops:
// the queue must stay and keep the events published meanwhile, which the
// next replica traces.
func TestScaleRabbitMQ(t *testing.T) {
	requireLocal(t, "RabbitMQ", localRabbitMQ)
	ctl := requireCommand(t, "rabbitmqctl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*scaleDeadline)
	defer cancel()
	if out, err := exec.CommandContext(ctx, ctl, "trace_on", "-p", "/").CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl trace_on: %v\n%s", err, out)
	}

	const (
		total     = 4000
		replicas  = 2
		perSecond = 1000
		afterStop = 200
		// The config's prefetch: the most a replica holds unacknowledged.
		prefetch = 100
	)
	suffix := fmt.Sprint(time.Now().UnixNano())
	exchange, queue := "scale-"+suffix, "otelcol-msgtrace-scale-"+suffix
	conn, err := amqp.Dial("amqp://guest:guest@" + localRabbitMQ + "/")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.ExchangeDeclare(exchange, "topic", false, true, false, false, nil))
	t.Cleanup(func() {
		_, _ = ch.QueueDelete(queue, false, false, false)
		_ = ch.ExchangeDelete(exchange, false, false)
	})
	// A passive declare closes its channel when the queue is missing: one
	// channel per look.
	queueState := func() (amqp.Queue, error) {
		inspect, err := conn.Channel()
		if err != nil {
			return amqp.Queue{}, err
		}
		defer inspect.Close()
		return inspect.QueueDeclarePassive(queue, false, false, false, false, nil)
	}

	tally := newMessageTally()
	produced := map[string]*producerContext{}
	dir := t.TempDir()
	gws := map[int]*harness.Gateway{}
	start := func(n int) {
		t.Helper()
		sink, err := harness.StartSink(tally.recorder(n))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, sink.Stop()) })
		gws[n] = startReplica(t, "e2e-scale-rabbitmq.yaml", dir, fmt.Sprintf("rabbitmq-replica-%d", n), sink,
			"OTELCOL_MSG_RABBITMQ_ENDPOINT=amqp://"+localRabbitMQ,
			"OTELCOL_MSG_SCALE_EXCHANGE="+exchange,
			"OTELCOL_MSG_SCALE_QUEUE="+queue)
	}
	waitConsumers := func(want int) {
		t.Helper()
		waitFor(t, gws, func() string {
			q, err := queueState()
			return fmt.Sprintf("queue %s: %+v %v, want %d consumers", queue, q, err, want)
		},
			func() bool { q, err := queueState(); return err == nil && q.Consumers == want })
	}
	publish := func(from, to int) {
		t.Helper()
		began := time.Now()
		for i := from; i < to; i++ {
			if ahead := time.Duration(i-from) * time.Second / perSecond; ahead > time.Since(began) {
				time.Sleep(ahead - time.Since(began))
			}
			id := fmt.Sprintf("rmq-%06d", i)
			msg := amqp.Publishing{MessageId: id, Timestamp: time.Now(), Body: []byte("{}")}
			produced[id] = nil
			if i%2 == 0 {
				pc := newProducerContext(i, true)
				produced[id] = &pc
				msg.Headers = amqp.Table{"traceparent": traceparent.Format(traceparent.Context{TraceID: pc.traceID, SpanID: pc.spanID, Flags: 1})}
			}
			require.NoError(t, ch.PublishWithContext(ctx, exchange, "orders.created", false, false, msg))
		}
	}

	for n := range replicas {
		start(n)
	}
	waitConsumers(replicas)

	// Kill at 30 %, join at 60 %, publishing all along.
	publish(0, total*3/10)
	waitFor(t, gws, func() string { return fmt.Sprintf("%d traced before the kill", tally.received()) },
		func() bool { return tally.received() >= total/5 })
	gws[0].Kill()
	delete(gws, 0)
	publish(total*3/10, total*6/10)
	start(replicas)
	waitConsumers(replicas)
	publish(total*6/10, total)
	waitFor(t, gws, func() string { return fmt.Sprintf("%d of %d messages traced", tally.received(), total) },
		func() bool { return tally.received() >= total })

	// All replicas stop: the queue stays and collects what is published.
	for _, n := range slices.Sorted(maps.Keys(gws)) {
		require.NoError(t, gws[n].Stop(spanDeadline))
		delete(gws, n)
	}
	publish(total, total+afterStop)
	deadline := time.Now().Add(scaleDeadline)
	var q amqp.Queue
	for time.Now().Before(deadline) {
		if q, err = queueState(); err == nil && q.Messages >= afterStop {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "the queue outlives its replicas")
	assert.Equal(t, 0, q.Consumers)
	assert.Equal(t, afterStop, q.Messages, "events published while no replica ran wait in the queue")
	start(replicas + 1)
	waitFor(t, gws, func() string { return fmt.Sprintf("%d of %d messages traced", tally.received(), total+afterStop) },
		func() bool { return tally.received() >= total+afterStop })
	require.NoError(t, gws[replicas+1].Stop(spanDeadline))

	lost, twice := tally.verify(t, produced)
	// Only a delivery a replica had not acknowledged when it went away is
	// traced again, by another replica: at most prefetch per replica gone
	// (one killed, three stopped). Replicas with queues of their own would
	// each trace every message.
	assert.LessOrEqual(t, twice, prefetch*(replicas+2), "messages traced twice")
	assert.Zero(t, tally.sameReplicaTwice(), "messages one replica traced twice")
	for n := range replicas + 2 {
		assert.Positive(t, tally.tracedBy(n), "rabbitmq-replica-%d traced messages", n)
	}
	fmt.Printf("scale test (rabbitmq): replicas=%d produced=%d lost=%d traced_twice=%d killed=1 joined=1\n",
		replicas, len(produced), lost, twice)
}

// startReplica runs otelcol-msg with testdata/<config>, exporting to sink,
// with env added; it is killed with the test if still running.
func startReplica(t *testing.T, config, dir, name string, sink *harness.Sink, env ...string) *harness.Gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	gw, err := harness.StartGateway(ctx, harness.GatewayConfig{
		Binary:     otelcolBinary(t),
		ConfigPath: testdataConfig(t, config),
		Dir:        dir,
		OutputName: name + ".json",
		Env:        append([]string{harness.EnvSinkEndpoint + "=" + sink.Endpoint()}, env...),
	})
	require.NoError(t, err)
	t.Cleanup(gw.Kill)
	return gw
}
