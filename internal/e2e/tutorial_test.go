package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// TestTutorialConfig runs the collector config of a typical OpenTelemetry
// Python tutorial (testdata/tutorial-python.yaml: resource processor,
// prometheus pull exporter, otlp/jaeger) on otelcol-msg, sends it what an
// application sends over OTLP/HTTP, and scrapes the prometheus exporter. The
// file is used as committed; only its listen addresses move to free loopback
// ports so that the test can run beside the others.
func TestTutorialConfig(t *testing.T) {
	bin := otelcolBinary(t)
	cfgPath := testdataConfig(t, "tutorial-python.yaml")

	out, err := exec.Command(bin, "validate", "--config", cfgPath).CombinedOutput()
	require.NoError(t, err, "validate:\n%s", out)

	ports, err := harness.FreePorts(4)
	require.NoError(t, err)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	httpAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	promAddr := fmt.Sprintf("127.0.0.1:%d", ports[2])
	telemetryAddr := fmt.Sprintf("127.0.0.1:%d", ports[3])

	proc, err := harness.StartProcess(harness.ProcessConfig{
		Binary: bin,
		Args: []string{
			"--config", cfgPath,
			"--set=receivers::otlp::protocols::grpc::endpoint=" + grpcAddr,
			"--set=receivers::otlp::protocols::http::endpoint=" + httpAddr,
			"--set=exporters::prometheus::endpoint=" + promAddr,
			// The gateway's own metrics, :8888 by default, on a free port too.
			fmt.Sprintf("--config=yaml:service::telemetry::metrics::readers: "+
				"[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", ports[3]),
		},
		LogPath: filepath.Join(t.TempDir(), "otelcol-msg.log"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proc.Stop(10 * time.Second) })

	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	require.NoError(t, proc.WaitLog(ctx, "Everything is ready"), "log:\n%s", proc.LogTail(40))

	// What an application sends: a counter, a span and a log record.
	post(ctx, t, "http://"+httpAddr+"/v1/metrics", tutorialMetrics())
	post(ctx, t, "http://"+httpAddr+"/v1/traces", tutorialTraces())
	post(ctx, t, "http://"+httpAddr+"/v1/logs", tutorialLogs())

	// The batch processor holds data up to its 5 s timeout.
	var page string
	for {
		page = scrape(ctx, "http://"+promAddr+"/metrics")
		if strings.Contains(page, "myapp_orders_processed_total") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("myapp_orders_processed_total never appeared on :8889; last page:\n%s\nlog:\n%s", page, proc.LogTail(40))
		case <-time.After(200 * time.Millisecond):
		}
	}
	require.Regexp(t, `(?m)^myapp_orders_processed_total\{[^}]*queue="orders"[^}]*\} 42$`, page)
	// The resource processor's insert reaches Prometheus as a label of target_info
	// (namespaced like every metric of the exporter).
	require.Regexp(t, `(?m)^myapp_target_info\{[^}]*environment="production"[^}]*\} 1$`, page)
	require.Regexp(t, `(?m)^myapp_target_info\{[^}]*job="shop/orders"`, page)

	// The traces and logs pipelines ran too (the debug exporter logs what it got).
	require.NoError(t, proc.WaitLog(ctx, `"log records": 1`), "log:\n%s", proc.LogTail(40))
	require.NoError(t, proc.WaitLog(ctx, `"spans": 1`), "log:\n%s", proc.LogTail(40))
	require.Contains(t, scrape(ctx, "http://"+telemetryAddr+"/metrics"), "otelcol_receiver_accepted_metric_points",
		"the gateway's own metrics moved to a free port")
}

func tutorialResource(r pcommon.Resource) {
	r.Attributes().PutStr("service.name", "orders")
	r.Attributes().PutStr("service.namespace", "shop")
	r.Attributes().PutStr("service.instance.id", "orders-1")
}

func tutorialMetrics() []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	tutorialResource(rm.Resource())
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("orders.processed")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetIntValue(42)
	dp.Attributes().PutStr("queue", "orders")
	now := time.Now()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Minute)))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(now))
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		panic(err) // a request built above always marshals
	}
	return b
}

func tutorialTraces() []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	tutorialResource(rs.Resource())
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("process orders")
	s.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	now := time.Now()
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func tutorialLogs() []byte {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	tutorialResource(rl.Resource())
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("order processed")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func post(ctx context.Context, t *testing.T, url string, body []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s: %s", url, msg)
}

// scrape returns the page, or "" while the endpoint does not answer yet.
func scrape(ctx context.Context, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
