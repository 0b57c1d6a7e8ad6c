package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// TestOutageExporter takes the OTLP backend down for 30 s while messages
// arrive (issue 7): the gateway (testdata/e2e-outage.yaml) must commit no
// offset past what the backend accepted, lose nothing once it is back, and
// hold its memory (receiver backpressure, memory_limiter). It reports the
// gateway's peak RSS.
func TestOutageExporter(t *testing.T) {
	const (
		topic      = "outage"
		group      = "otelcol-msgtrace-outage"
		partitions = 4
		valueSize  = 8 << 10
		before     = 5_000 // exported before the outage
		during     = 40_000
		batch      = 1_000
		outage     = 30 * time.Second
		// memory_limiter's limit_mib in the config, and the headroom its
		// documentation gives the rest of the process above the heap.
		limitMiB    = 192
		headroomMiB = 50
		rssBound    = (limitMiB + headroomMiB) << 20
	)
	// A gateway that pulled the backlog into memory would break the bound.
	require.Greater(t, during*valueSize, rssBound, "the backlog must outweigh the memory bound")
	began := time.Now()
	kafka := startKafka(t, harness.Topic{Name: topic, Partitions: partitions})
	ledger := newSpanLedger()
	sink := startSink(t, ledger)
	produced := newProducedSet()
	gw := startSinkGateway(t, "e2e-outage.yaml", t.TempDir(), "gateway", kafka.Brokers(), sink)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	require.NoError(t, produced.produce(ctx, kafka, topic, partitions, 0, before, batch, valueSize, nil))
	waitUntil(t, gw, func() string { return fmt.Sprintf("%d of %d messages have spans", ledger.received(), before) },
		func() bool { return ledger.received() >= before })
	// The check below would pass vacuously if nothing were ever committed.
	waitCommitted(ctx, t, gw, kafka, group, topic, ledger)

	require.NoError(t, sink.Stop())
	outageEnd := time.Now().Add(outage)
	t.Logf("backend down for %s", outage)
	produceErr := make(chan error, 1)
	go func() {
		// Spread the messages over the outage: they arrive while it lasts.
		step := outage * batch / during
		next := time.Now()
		produceErr <- produced.produce(ctx, kafka, topic, partitions, before, before+during, batch, valueSize, func() bool {
			if time.Now().Before(next) {
				return false
			}
			next = next.Add(step)
			return true
		})
	}()

	var checks int
	var maxRSS int64
	for time.Now().Before(outageEnd) {
		cctx, ccancel := context.WithTimeout(ctx, spanDeadline)
		_, bad, err := committedBeyondExported(cctx, kafka, group, ledger)
		ccancel()
		require.NoError(t, err)
		require.Empty(t, bad, "offsets committed past what the backend accepted, during the outage")
		checks++
		rss, err := gw.RSS()
		require.NoError(t, err)
		maxRSS = max(maxRSS, rss)
		time.Sleep(500 * time.Millisecond)
	}
	require.NoError(t, <-produceErr, "produce during the outage")
	require.Equal(t, before, ledger.received(), "the backend accepted nothing while down")
	require.True(t, gw.LogContains("next consumer refused spans, retrying"),
		"the gateway did not notice the outage; log %s:\n%s", gw.LogPath(), gw.LogTail(20))

	require.NoError(t, sink.Start())
	upAt := time.Now()
	t.Logf("backend up again after %d committed-offset checks; gateway RSS peaked at %d MiB during the outage", checks, maxRSS>>20)
	total := before + during
	waitUntil(t, gw, func() string {
		return fmt.Sprintf("%d of %d messages have spans after the outage; gateway log %s:\n%s",
			ledger.received(), total, gw.LogPath(), gw.LogTail(20))
	}, func() bool { return ledger.received() >= total })
	caughtUp := time.Since(upAt)
	waitCommitted(ctx, t, gw, kafka, group, topic, ledger)

	peak, err := gw.PeakRSS()
	require.NoError(t, err)
	require.NoError(t, gw.Stop(spanDeadline), "the gateway stops cleanly")
	lost := ledger.verify(t, produced.snapshot())
	assert.Less(t, peak, int64(rssBound), "gateway peak RSS above memory_limiter's limit_mib plus its headroom")
	t.Logf("exporter outage: produced=%d lost=%d duplicate_ids=%d backlog_mib=%d peak_rss_mib=%d memory_limiter_refused=%t committed_offset_checks=%d caught_up_after=%s took=%s",
		total, lost, ledger.duplicates(), during*valueSize>>20, peak>>20, gw.LogContains("above soft limit. Refusing data"),
		checks, caughtUp.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// waitCommitted waits until the group has committed every partition of topic
// up to its end, checking on the way that no commit ran ahead of the sink.
func waitCommitted(ctx context.Context, t *testing.T, gw *harness.Gateway, kafka *harness.Kafka, group, topic string, l *spanLedger) {
	t.Helper()
	var committed, ends harness.Offsets
	waitUntil(t, gw, func() string {
		return fmt.Sprintf("group %s committed %v, partitions end at %v", group, committed, ends)
	}, func() bool {
		cctx, cancel := context.WithTimeout(ctx, spanDeadline)
		defer cancel()
		var bad []string
		var err error
		committed, bad, err = committedBeyondExported(cctx, kafka, group, l)
		require.NoError(t, err)
		require.Empty(t, bad, "offsets committed past what the sink accepted")
		ends, err = kafka.EndOffsets(cctx, topic)
		require.NoError(t, err)
		return maps.Equal(committed[topic], ends[topic])
	})
}
