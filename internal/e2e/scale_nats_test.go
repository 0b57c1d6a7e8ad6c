package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
)

// TestScaleNATS is the Kafka scale test's shape, smaller, for the NATS
// JetStream tap (issue 16): two replicas of testdata/e2e-scale-nats.yaml
// share the taps' durable pull consumer of one stream while messages arrive;
// one is SIGKILLed (what it pulled and never acknowledged goes to another
// after ack_wait) and one joins. Every message must be traced, one traced
// twice with the same IDs, and the consumer must end with nothing pending.
func TestScaleNATS(t *testing.T) {
	requireLocal(t, "NATS", localNATS)
	const (
		total     = 3000
		replicas  = 2
		perSecond = 1000
		durable   = "otelcol-msgtrace-scale"
		// JetStream's default max_ack_pending of a consumer: the most its
		// replicas together hold unacknowledged.
		maxAckPending = 1000
	)
	nc, err := nats.Connect("nats://" + localNATS)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*scaleDeadline)
	defer cancel()
	name := fmt.Sprintf("SCALE_%d", time.Now().UnixNano())
	subject := strings.ToLower(name) + ".created"
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })

	tally := newMessageTally()
	produced := map[string]*producerContext{}
	dir := t.TempDir()
	gws := map[int]*harness.Gateway{}
	start := func(n int) {
		t.Helper()
		sink, err := harness.StartSink(tally.recorder(n))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, sink.Stop()) })
		gws[n] = startReplica(t, "e2e-scale-nats.yaml", dir, fmt.Sprintf("nats-replica-%d", n), sink,
			"OTELCOL_MSG_NATS_URL=nats://"+localNATS,
			"OTELCOL_MSG_SCALE_STREAM="+name)
	}
	publish := func(from, to int) {
		t.Helper()
		began := time.Now()
		for i := from; i < to; i++ {
			if ahead := time.Duration(i-from) * time.Second / perSecond; ahead > time.Since(began) {
				time.Sleep(ahead - time.Since(began))
			}
			id := fmt.Sprintf("nats-%06d", i)
			m := &nats.Msg{Subject: subject, Header: nats.Header{"message_id": {id}}, Data: []byte("{}")}
			produced[id] = nil
			if i%2 == 0 {
				pc := newProducerContext(i, true)
				produced[id] = &pc
				m.Header.Set("traceparent", traceparent.Format(traceparent.Context{TraceID: pc.traceID, SpanID: pc.spanID, Flags: 1}))
			}
			_, err := js.PublishMsg(ctx, m)
			require.NoError(t, err)
		}
	}

	for n := range replicas {
		start(n)
	}
	publish(0, total*3/10)
	waitFor(t, gws, func() string { return fmt.Sprintf("%d traced before the kill", tally.received()) },
		func() bool { return tally.received() >= total/5 })
	gws[0].Kill()
	delete(gws, 0)
	publish(total*3/10, total*6/10)
	start(replicas)
	publish(total*6/10, total)
	waitFor(t, gws, func() string { return fmt.Sprintf("%d of %d messages traced", tally.received(), total) },
		func() bool { return tally.received() >= total })
	cons, err := stream.Consumer(ctx, durable)
	require.NoError(t, err)
	waitFor(t, gws, func() string { return "messages still pending in the taps' consumer" }, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	for _, n := range slices.Sorted(maps.Keys(gws)) {
		require.NoError(t, gws[n].Stop(spanDeadline))
	}

	lost, twice := tally.verify(t, produced)
	assert.LessOrEqual(t, twice, maxAckPending, "messages traced twice")
	assert.Zero(t, tally.sameReplicaTwice(), "messages one replica traced twice")
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(total), info.State.Msgs, "the tap removes no message")
	// Both consumers of the durable traced: the work was split.
	for n := range replicas + 1 {
		if n == 0 {
			continue // killed early; it may have pulled nothing yet
		}
		assert.Positive(t, tally.tracedBy(n), "nats-replica-%d traced messages", n)
	}
	fmt.Printf("scale test (nats): replicas=%d produced=%d lost=%d traced_twice=%d killed=1 joined=1\n",
		replicas, len(produced), lost, twice)
}
