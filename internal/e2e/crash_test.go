package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// crashSeedEnv reproduces a run's kill points: the test logs its seed.
const crashSeedEnv = "OTELCOL_MSG_CRASH_SEED"

// TestCrashKafka proves at-least-once delivery across crashes (issue 7):
// 100k messages arrive on a Kafka that runs in a process of its own while
// the gateway (testdata/e2e-crash.yaml, same consumer group every run) is
// killed with SIGKILL at three random points and restarted. The OTLP sink
// must end up with the spans of every message, and a message whose spans
// were exported twice (its offset was not committed before the kill) must
// come back with the same trace and span IDs.
func TestCrashKafka(t *testing.T) {
	const (
		total      = 100_000
		partitions = 4
		batch      = 1000
		valueSize  = 64
		// The producer stays at most this far ahead of the sink, so messages
		// keep arriving across every kill however fast the machine is: the
		// last kill falls before 7/10 of the messages have spans.
		ahead    = total / 4
		restarts = 3
		group    = "otelcol-msgtrace-crash"
		topic    = "crash"
	)
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, crashSeedEnv)
	}
	t.Logf("kill points from seed %d (%s=%d reproduces them)", seed, crashSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	srv := startKafkaServer(t, "kfake", 0, "", harness.Topic{Name: topic, Partitions: partitions})
	kafka := connectKafka(t, srv.Addr())
	ledger := newSpanLedger()
	sink := startSink(t, ledger)
	produced := newProducedSet()
	dir := t.TempDir()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produceErr := make(chan error, 1)
	go func() {
		produceErr <- produced.produce(ctx, kafka, topic, partitions, 0, total, batch, valueSize,
			func() bool { return produced.len()-ledger.received() < ahead })
	}()

	checkCommits := func() {
		t.Helper()
		cctx, ccancel := context.WithTimeout(ctx, spanDeadline)
		defer ccancel()
		_, bad, err := committedBeyondExported(cctx, kafka, group, ledger)
		require.NoError(t, err)
		require.Empty(t, bad, "offsets committed past what the sink accepted")
	}

	gw := startSinkGateway(t, "e2e-crash.yaml", dir, "run0", []string{srv.Addr()}, sink)
	for i := 1; i <= restarts; i++ {
		// Kill i falls once a random number of messages between i/5 and
		// i/5+1/10 of the total has spans.
		target := i*total/5 + rng.IntN(total/10)
		waitUntil(t, gw, func() string {
			return fmt.Sprintf("kill %d: %d of %d messages arrived, waiting for %d; gateway log %s:\n%s",
				i, ledger.received(), produced.len(), target, gw.LogPath(), gw.LogTail(20))
		}, func() bool { return ledger.received() >= target })
		gw.Kill()
		t.Logf("kill %d (pid %d) with %d of %d produced messages exported, %d duplicate span IDs so far",
			i, gw.Pid(), ledger.received(), produced.len(), ledger.duplicates())
		checkCommits()
		gw = startSinkGateway(t, "e2e-crash.yaml", dir, fmt.Sprintf("run%d", i), []string{srv.Addr()}, sink)
	}

	select {
	case err := <-produceErr:
		require.NoError(t, err, "produce")
	case <-time.After(faultDeadline):
		t.Fatalf("producer did not finish: %d of %d produced, %d with spans", produced.len(), total, ledger.received())
	}
	waitUntil(t, gw, func() string {
		return fmt.Sprintf("%d of %d messages have spans; gateway log %s:\n%s",
			ledger.received(), total, gw.LogPath(), gw.LogTail(20))
	}, func() bool { return ledger.received() >= total })
	checkCommits()
	require.NoError(t, gw.Stop(spanDeadline), "the last gateway stops cleanly")

	// A clean shutdown commits everything that was delivered.
	sctx, scancel := context.WithTimeout(ctx, spanDeadline)
	defer scancel()
	committed, bad, err := committedBeyondExported(sctx, kafka, group, ledger)
	require.NoError(t, err)
	require.Empty(t, bad)
	ends, err := kafka.EndOffsets(sctx, topic)
	require.NoError(t, err)
	assert.Equal(t, ends, committed, "offsets committed at shutdown")

	all := produced.snapshot()
	require.Len(t, all, total)
	lost := ledger.verify(t, all)
	dups := ledger.duplicates()
	fmt.Printf("crash test: produced=%d lost=%d duplicate_ids=%d restarts=%d\n", len(all), lost, dups, restarts)
	t.Logf("crash test took %s", time.Since(began).Round(time.Millisecond))
}
