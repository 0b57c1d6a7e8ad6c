package e2e

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
)

// TestScaleRedis is the Kafka scale test's shape, smaller, for the Redis
// Streams tap (issue 16): two replicas of testdata/e2e-scale-redis.yaml read
// one stream through the taps' consumer group while entries arrive, one is
// SIGKILLed (what it read but had not acknowledged is claimed by another
// after claim_idle) and one joins. Every entry must be traced, one traced
// twice with the same IDs, and the taps' group must end with nothing pending.
func TestScaleRedis(t *testing.T) {
	requireLocal(t, "Redis", localRedis)
	const (
		total     = 3000
		replicas  = 2
		perSecond = 1000
		// The config's max_batch_size: the most one XREADGROUP hands a replica.
		batch = 100
	)
	suffix := fmt.Sprint(time.Now().UnixNano())
	stream, group := "scale-"+suffix, "otelcol-msgtrace-scale-"+suffix
	c, err := redis.Dial("tcp", localRedis)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = c.Do("DEL", stream)
		c.Close()
	})

	tally := newMessageTally()
	produced := map[string]*producerContext{}
	dir := t.TempDir()
	gws := map[int]*harness.Gateway{}
	start := func(n int) {
		t.Helper()
		sink, err := harness.StartSink(tally.recorder(n))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, sink.Stop()) })
		gws[n] = startReplica(t, "e2e-scale-redis.yaml", dir, fmt.Sprintf("redis-replica-%d", n), sink,
			"OTELCOL_MSG_REDIS_ENDPOINT="+localRedis,
			"OTELCOL_MSG_SCALE_STREAM="+stream,
			"OTELCOL_MSG_SCALE_GROUP="+group)
	}
	consumers := func() int {
		reply, err := redis.Values(c.Do("XINFO", "CONSUMERS", stream, group))
		if err != nil {
			return -1
		}
		return len(reply)
	}
	add := func(from, to int) {
		t.Helper()
		began := time.Now()
		for i := from; i < to; i++ {
			if ahead := time.Duration(i-from) * time.Second / perSecond; ahead > time.Since(began) {
				time.Sleep(ahead - time.Since(began))
			}
			id := fmt.Sprintf("redis-%06d", i)
			headers := fmt.Sprintf(`"message_id": %q`, id)
			produced[id] = nil
			if i%2 == 0 {
				pc := newProducerContext(i, true)
				produced[id] = &pc
				headers += fmt.Sprintf(`, "traceparent": %q`, traceparent.Format(traceparent.Context{TraceID: pc.traceID, SpanID: pc.spanID, Flags: 1}))
			}
			_, err := c.Do("XADD", stream, "*", "__data__", `{"data": "{}", "headers": {`+headers+`}}`)
			require.NoError(t, err)
		}
	}

	// The group is created on an existing stream: the tap never creates one.
	add(0, 1)
	for n := range replicas {
		start(n)
	}
	waitFor(t, gws, func() string { return fmt.Sprintf("%d consumers in group %s", consumers(), group) },
		func() bool { return consumers() == replicas })
	add(1, total*3/10)
	gws[0].Kill()
	delete(gws, 0)
	add(total*3/10, total*6/10)
	start(replicas)
	add(total*6/10, total)
	waitFor(t, gws, func() string { return fmt.Sprintf("%d of %d entries traced", tally.received(), total) },
		func() bool { return tally.received() >= total })
	waitFor(t, gws, func() string { return "entries still pending in the taps' group" }, func() bool {
		reply, err := redis.Values(c.Do("XPENDING", stream, group))
		if err != nil || len(reply) == 0 {
			return false
		}
		n, err := redis.Int64(reply[0], nil)
		return err == nil && n == 0
	})
	for _, n := range slices.Sorted(maps.Keys(gws)) {
		require.NoError(t, gws[n].Stop(spanDeadline))
	}

	lost, twice := tally.verify(t, produced)
	// Only what the killed replica had read and not acknowledged is traced
	// again, by another replica: at most one XREADGROUP's worth per stream.
	assert.LessOrEqual(t, twice, batch, "entries traced twice")
	assert.Zero(t, tally.sameReplicaTwice(), "entries one replica traced twice")
	for n := range replicas + 1 {
		assert.Positive(t, tally.tracedBy(n), "redis-replica-%d traced entries", n)
	}
	l, err := redis.Int(c.Do("XLEN", stream))
	require.NoError(t, err)
	assert.Equal(t, total, l, "the tap removes no entry")
	fmt.Printf("scale test (redis): replicas=%d produced=%d lost=%d traced_twice=%d killed=1 joined=1\n",
		replicas, len(produced), lost, twice)
}
