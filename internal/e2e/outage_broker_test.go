package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// healthGate makes health_check report component status (testdata/e2e-outage-broker.yaml).
const healthGate = "--feature-gates=+extension.healthcheck.useComponentStatus"

// TestOutageBroker starts the gateway (testdata/e2e-outage-broker.yaml)
// while its Kafka does not exist yet, then takes that Kafka away and brings
// it back, data and committed offsets kept, while the same gateway process
// runs (issue 7). The gateway must start anyway, say in its log and its
// health status that the broker is unreachable, connect when it appears,
// reconnect after the outage, and lose no message on the way.
func TestOutageBroker(t *testing.T) {
	const (
		topic      = "orders"
		group      = "otelcol-msgtrace-outage-broker"
		partitions = 2
		perPhase   = 2_000
		batch      = 500
		valueSize  = 64
		// session_timeout in the config.
		sessionTimeout = 3 * time.Second
	)
	began := time.Now()
	ports, err := harness.FreePorts(1)
	require.NoError(t, err)
	port := ports[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dataDir := t.TempDir()
	ledger := newSpanLedger()
	sink := startSink(t, ledger)
	produced := newProducedSet()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// 1. Nothing listens on the broker's port: the gateway starts and says so.
	gw := startSinkGateway(t, "e2e-outage-broker.yaml", t.TempDir(), "gateway", []string{addr}, sink, healthGate)
	waitLog(t, gw, "kafka cluster unreachable, retrying")
	st := waitReceiverStatus(t, gw, "StatusRecoverableError")
	assert.Contains(t, st.Error, addr, "the health status names the unreachable broker")
	t.Logf("broker absent: receiver status %s: %s", st.Status, st.Error)

	// 2. The broker appears: the gateway connects without a restart.
	srv := startKafkaServer(t, "kfake-1", port, dataDir, harness.Topic{Name: topic, Partitions: partitions})
	kafka := connectKafka(t, addr)
	require.NoError(t, produced.produce(ctx, kafka, topic, partitions, 0, perPhase, batch, valueSize, nil))
	waitReceived(t, gw, ledger, perPhase)
	waitLog(t, gw, "kafka source connected")
	waitReceiverStatus(t, gw, "StatusOK")
	waitCommitted(ctx, t, gw, kafka, group, topic, ledger)

	// 3. The broker goes away mid-run (SIGTERM: it saves its data and
	// offsets), while producers keep trying: their messages land once it is
	// back. The gateway logs the lost connection.
	logMark := gw.LogSize()
	require.NoError(t, srv.Stop(spanDeadline), "stop the broker")
	t.Logf("broker stopped after %s", time.Since(began).Round(time.Millisecond))
	produceErr := make(chan error, 1)
	go func() {
		produceErr <- produced.produce(ctx, kafka, topic, partitions, perPhase, 2*perPhase, batch, valueSize, nil)
	}()
	lctx, lcancel := context.WithTimeout(ctx, faultDeadline)
	defer lcancel()
	require.NoError(t, gw.WaitLogFrom(lctx, logMark, "kafka consumer group session failed, retrying"),
		"the gateway logs the broker's absence")
	st = waitReceiverStatus(t, gw, "StatusRecoverableError")
	t.Logf("broker gone: receiver status %s: %s", st.Status, st.Error)
	// Stay down past the group's session timeout (3s in the config): the
	// broker forgets the tap's membership, which must join again.
	time.Sleep(2 * sessionTimeout)

	// 4. The broker comes back on the same address with its data.
	startKafkaServer(t, "kfake-2", port, dataDir)
	backAt := time.Now()
	require.NoError(t, <-produceErr, "produce across the broker restart")
	waitReceived(t, gw, ledger, 2*perPhase)
	caughtUp := time.Since(backAt)
	waitReceiverStatus(t, gw, "StatusOK")
	waitCommitted(ctx, t, gw, kafka, group, topic, ledger)

	all := produced.snapshot()
	for k := range all {
		// The restarted broker kept the first phase: the second continued its offsets.
		require.Less(t, k.offset, int64(2*perPhase/partitions), "offset %+v: did the broker lose its data?", k)
	}
	select {
	case <-gw.Done():
		t.Fatalf("the gateway exited during the outage: %v", gw.ExitErr())
	default:
	}
	require.NoError(t, gw.Stop(spanDeadline), "the gateway stops cleanly")
	lost := ledger.verify(t, all)
	t.Logf("broker outage: produced=%d lost=%d duplicate_ids=%d caught_up_after=%s took=%s",
		len(all), lost, ledger.duplicates(), caughtUp.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// waitLog waits until the gateway's log holds substr.
func waitLog(t *testing.T, gw *harness.Gateway, substr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
	defer cancel()
	require.NoError(t, gw.WaitLog(ctx, substr))
}

// waitReceived waits until n messages have their receive spans.
func waitReceived(t *testing.T, gw *harness.Gateway, l *spanLedger, n int) {
	t.Helper()
	waitUntil(t, gw, func() string {
		return fmt.Sprintf("%d of %d messages have spans; gateway log %s:\n%s", l.received(), n, gw.LogPath(), gw.LogTail(20))
	}, func() bool { return l.received() >= n })
}

// waitReceiverStatus waits until health_check reports the msgtrace receiver
// in the given status, and returns that report.
func waitReceiverStatus(t *testing.T, gw *harness.Gateway, status string) harness.ComponentStatus {
	t.Helper()
	var (
		st  harness.ComponentStatus
		err error
	)
	waitUntil(t, gw, func() string {
		return fmt.Sprintf("receiver:msgtrace status %+v (%v), want %s; gateway log %s:\n%s", st, err, status, gw.LogPath(), gw.LogTail(20))
	}, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err = gw.ComponentStatus(ctx, "receiver:msgtrace")
		return err == nil && st.Status == status && (status == "StatusOK" || strings.Contains(st.Error, "kafka"))
	})
	return st
}
