package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// scaleDeadline bounds each wait of the scale test: a give-up bound for
// replicas that lost messages or never rebalance, not a statement about speed.
const scaleDeadline = 2 * time.Minute

// TestScaleKafka proves that gateways scale out on Kafka's consumer-group
// protocol alone (issue 16): three replicas of testdata/e2e-scale.yaml share
// one group_id on a six-partition topic held by a Kafka in a process of its
// own, and must split the partitions two each. 100 000 messages arrive while
// one replica is SIGKILLed (its partitions move to the other two) and later a
// new one joins (the partitions split three ways again). Every message must
// end up traced, and a message traced twice (its offset was not committed
// when its partition moved) must come back with the same IDs and lie beyond
// the offsets committed before the kill: nothing committed is traced again.
func TestScaleKafka(t *testing.T) {
	const (
		total      = 100_000
		partitions = 6
		replicas   = 3
		batch      = 500
		valueSize  = 64
		// Messages arrive at about this rate, and never more than ahead of
		// what the sinks hold, so they keep arriving across the kill and the
		// join; the last fifth waits for the new replica's partitions, so it
		// has work however slow the rebalance.
		perSecond = 4000
		ahead     = total / 5
		gated     = total * 8 / 10
		group     = "otelcol-msgtrace-scale"
		topic     = "scale"
	)
	began := time.Now()
	srv := startKafkaServer(t, "kfake", 0, "", harness.Topic{Name: topic, Partitions: partitions})
	kafka := connectKafka(t, srv.Addr())
	ledger := newSpanLedger()
	tally := newReplicaTally()
	produced := newProducedSet()
	dir := t.TempDir()

	start := func(n int) *harness.Gateway {
		t.Helper()
		// A sink per replica: the tally learns who traced each message.
		s, err := harness.StartSink(tally.recorder(n, ledger))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Stop()) })
		return startSinkGateway(t, "e2e-scale.yaml", dir, replicaName(n), []string{srv.Addr()}, s,
			"--set=receivers::msgtrace::kafka::client_id="+replicaName(n))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	describe := func(want int) harness.GroupAssignment {
		t.Helper()
		return waitForSplit(ctx, t, kafka, group, topic, partitions, want)
	}

	gws := map[int]*harness.Gateway{}
	for n := range replicas {
		gws[n] = start(n)
	}
	split := describe(replicas)
	t.Logf("%d replicas split %d partitions: %v", replicas, partitions, split.Partitions)

	var joined atomic.Bool
	produceErr := make(chan error, 1)
	go func() {
		began := time.Now()
		produceErr <- produced.produce(ctx, kafka, topic, partitions, 0, total, batch, valueSize, func() bool {
			n := produced.len()
			return n-ledger.received() < ahead &&
				float64(n) < time.Since(began).Seconds()*perSecond &&
				(n < gated || joined.Load())
		})
	}()

	// Kill: a replica that holds partitions dies with no chance to commit.
	const victim = 0
	waitUntilAll(t, gws, func() string {
		return fmt.Sprintf("before the kill: %d of %d produced messages traced", ledger.received(), produced.len())
	}, func() bool { return ledger.received() >= total*3/10 })
	gws[victim].Kill()
	delete(gws, victim)
	killedHeld := split.Partitions[replicaName(victim)]
	// The dead member can commit nothing more, and the survivors only commit
	// their own partitions' spans: from here on, a message of the victim's
	// partitions below these offsets must never be traced again.
	cctx, ccancel := context.WithTimeout(ctx, scaleDeadline)
	committedAtKill, bad, err := committedBeyondExported(cctx, kafka, group, ledger)
	ccancel()
	require.NoError(t, err)
	require.Empty(t, bad, "offsets committed past what the sinks accepted")
	t.Logf("killed %s (held partitions %v) with %d of %d produced messages traced; committed %v; traced by it past those: %v",
		replicaName(victim), killedHeld, ledger.received(), produced.len(), committedAtKill[topic],
		tally.tracedPast(victim, topic, committedAtKill[topic]))
	split = describe(replicas - 1)
	t.Logf("after the kill %d replicas hold %v", replicas-1, split.Partitions)

	// Join: a new replica takes its share of the partitions.
	waitUntilAll(t, gws, func() string {
		return fmt.Sprintf("before the join: %d of %d produced messages traced", ledger.received(), produced.len())
	}, func() bool { return ledger.received() >= total*6/10 })
	joiner := replicas
	gws[joiner] = start(joiner)
	split = describe(replicas)
	require.NotEmpty(t, split.Partitions[replicaName(joiner)], "the new replica holds partitions")
	joined.Store(true)
	t.Logf("after the join %d replicas hold %v", replicas, split.Partitions)

	select {
	case err := <-produceErr:
		require.NoError(t, err, "produce")
	case <-time.After(scaleDeadline):
		t.Fatalf("producer did not finish: %d of %d produced, %d traced", produced.len(), total, ledger.received())
	}
	waitUntilAll(t, gws, func() string {
		return fmt.Sprintf("%d of %d messages traced", ledger.received(), total)
	}, func() bool { return ledger.received() >= total })
	for _, n := range slices.Sorted(maps.Keys(gws)) {
		require.NoError(t, gws[n].Stop(spanDeadline), "%s stops cleanly", replicaName(n))
	}

	// Clean shutdowns commit everything the replicas traced.
	sctx, scancel := context.WithTimeout(ctx, scaleDeadline)
	defer scancel()
	committed, bad, err := committedBeyondExported(sctx, kafka, group, ledger)
	require.NoError(t, err)
	require.Empty(t, bad)
	ends, err := kafka.EndOffsets(sctx, topic)
	require.NoError(t, err)
	assert.Equal(t, ends, committed, "offsets committed at shutdown")

	all := produced.snapshot()
	require.Len(t, all, total)
	lost := ledger.verify(t, all) // also fails on a message traced twice with other IDs
	twice := tally.tracedTwice()
	for _, k := range twice {
		p := partitionOf(t, k)
		assert.GreaterOrEqual(t, k.offset, committedAtKill[topic][p],
			"message %+v was traced twice though its offset was committed before the kill", k)
	}
	for n := range replicas + 1 {
		assert.Positive(t, tally.tracedBy(n), "%s traced messages", replicaName(n))
	}
	fmt.Printf("scale test: replicas=%d produced=%d lost=%d traced_twice=%d killed=1 joined=1\n",
		replicas, len(all), lost, len(twice))
	t.Logf("traced per replica: %v; by two distinct replicas: %d; took %s",
		tally.perReplica(), tally.acrossReplicas(), time.Since(began).Round(time.Millisecond))
}

func replicaName(n int) string { return fmt.Sprintf("scale-replica-%d", n) }

func partitionOf(t *testing.T, k offsetKey) int32 {
	t.Helper()
	var p int32
	_, err := fmt.Sscan(k.partition, &p)
	require.NoError(t, err, "partition of %+v", k)
	return p
}

// waitForSplit polls the group until it is Stable with want members that
// between them hold each of the topic's partitions exactly once, as evenly as
// the count allows (Kafka's range and round-robin assignors both do).
func waitForSplit(ctx context.Context, t *testing.T, kafka *harness.Kafka, group, topic string, partitions, want int) harness.GroupAssignment {
	t.Helper()
	deadline := time.Now().Add(scaleDeadline)
	var last harness.GroupAssignment
	var lastErr error
	for time.Now().Before(deadline) {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last, lastErr = kafka.DescribeGroup(qctx, group, topic)
		cancel()
		if lastErr == nil && evenSplit(last, partitions, want) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("group %q never split %d partitions of %q across %d members: last %+v (%v)",
		group, partitions, topic, want, last, lastErr)
	return last
}

func evenSplit(g harness.GroupAssignment, partitions, members int) bool {
	if g.State != "Stable" || len(g.Partitions) != members {
		return false
	}
	seen := map[int32]bool{}
	for _, parts := range g.Partitions {
		if len(parts) < partitions/members || len(parts) > (partitions+members-1)/members {
			return false
		}
		for _, p := range parts {
			if seen[p] {
				return false
			}
			seen[p] = true
		}
	}
	return len(seen) == partitions
}

// waitUntilAll is waitUntil over several replicas: it fails at once when any
// of them exits.
func waitUntilAll(t *testing.T, gws map[int]*harness.Gateway, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(scaleDeadline)
	for !cond() {
		for n, gw := range gws {
			select {
			case <-gw.Done():
				t.Fatalf("%s exited (%v): %s; its log %s:\n%s", replicaName(n), gw.ExitErr(), what(), gw.LogPath(), gw.LogTail(20))
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s: %s", scaleDeadline, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replicaTally counts, per message, which replicas' sinks accepted its
// receive span.
type replicaTally struct {
	mu sync.Mutex
	by map[offsetKey][]int
}

func newReplicaTally() *replicaTally { return &replicaTally{by: map[offsetKey][]int{}} }

// recorder is the record callback of replica n's sink: it tallies the
// receive spans, then hands the export to the shared ledger.
func (r *replicaTally) recorder(n int, l *spanLedger) func(ptrace.Traces) {
	return func(td ptrace.Traces) {
		r.mu.Lock()
		for _, s := range harness.Spans(td) {
			if s.Span.Kind() != ptrace.SpanKindClient {
				continue
			}
			a := s.Span.Attributes()
			if k, ok := attrKey(a, a); ok {
				r.by[k] = append(r.by[k], n)
			}
		}
		r.mu.Unlock()
		l.record(td)
	}
}

// tracedTwice returns the messages whose receive span was accepted more than once.
func (r *replicaTally) tracedTwice() []offsetKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []offsetKey
	for k, ns := range r.by {
		if len(ns) > 1 {
			out = append(out, k)
		}
	}
	return out
}

// acrossReplicas counts the messages traced by two or more distinct replicas.
func (r *replicaTally) acrossReplicas() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ns := range r.by {
		if slices.ContainsFunc(ns, func(x int) bool { return x != ns[0] }) {
			n++
		}
	}
	return n
}

func (r *replicaTally) tracedBy(n int) int { return r.perReplica()[n] }

func (r *replicaTally) perReplica() map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]int{}
	for _, ns := range r.by {
		for _, n := range ns {
			out[n]++
		}
	}
	return out
}

// tracedPast counts, per partition, the messages replica n traced at or
// beyond the committed offsets: the uncommitted window it leaves behind.
func (r *replicaTally) tracedPast(n int, topic string, committed map[int32]int64) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, ns := range r.by {
		var p int32
		if _, err := fmt.Sscan(k.partition, &p); err != nil || k.topic != topic || !slices.Contains(ns, n) {
			continue
		}
		if k.offset >= committed[p] {
			out[k.partition]++
		}
	}
	return out
}
