package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp exporter compresses with gzip

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// fakeTempo is an OTLP gRPC trace endpoint that keeps what it receives.
type fakeTempo struct {
	ptraceotlp.UnimplementedGRPCServer
	mu    sync.Mutex
	spans []ptrace.Span
}

func (f *fakeTempo) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rss := req.Traces().ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				s := ptrace.NewSpan()
				spans.At(k).CopyTo(s)
				f.spans = append(f.spans, s)
			}
		}
	}
	return ptraceotlp.NewExportResponse(), nil
}

// receiveSpan returns the gateway's receive span of traceID, if it arrived.
func (f *fakeTempo) receiveSpan(traceID string) (ptrace.Span, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.spans {
		if strings.HasPrefix(s.Name(), "receive ") && s.TraceID().String() == traceID {
			return s, true
		}
	}
	return ptrace.Span{}, false
}

// settleSpan returns the gateway's settle span of traceID by consumer
// group, if it arrived.
func (f *fakeTempo) settleSpan(traceID, group string) (ptrace.Span, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.spans {
		op, _ := s.Attributes().Get("messaging.operation.type")
		g, _ := s.Attributes().Get("messaging.consumer.group.name")
		if op.Str() == "settle" && g.Str() == group && s.TraceID().String() == traceID {
			return s, true
		}
	}
	return ptrace.Span{}, false
}

func startFakeTempo(t *testing.T) (*fakeTempo, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ft := &fakeTempo{}
	ptraceotlp.RegisterGRPCServer(srv, ft)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return ft, l.Addr().String()
}

// sample is one line of a Prometheus text exposition.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

func scrape(ctx context.Context, url string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		m := sampleLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue // comments, blank lines
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value of %q: %w", url, sc.Text(), err)
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, l := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]] = l[2]
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

var (
	selector     = regexp.MustCompile(`\b((?:traces|otelcol|msgtrace)_[a-z_]+)\b(?:\{([^}]*)\})?`)
	matcherParts = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
)

// serviceMapQueries are the series Grafana's Tempo data source reads for the
// service map (serviceMap.datasourceUid), for the orders -> billing edge the
// end-to-end test sends.
var serviceMapQueries = map[string]string{
	"service map requests": `sum by (client, server) (rate(traces_service_graph_request_total{client="orders", server="billing", connection_type="messaging_system"}[5m]))`,
	"service map failures": `sum by (client, server) (rate(traces_service_graph_request_failed_total{client="orders", server="billing"}[5m]))`,
	"service map latency":  `histogram_quantile(0.95, sum by (le, client, server) (rate(traces_service_graph_request_server_seconds_bucket{server="billing"}[5m])))`,
}

// onlyAfterFailure are counters the collector creates on the first failure
// they count; a healthy run has none (TestDashboardQueriesMatchGateway still
// checks their names).
var onlyAfterFailure = map[string]bool{"otelcol_exporter_send_failed_spans": true}

// unmetQueries returns the dashboard queries for which the scraped series
// hold no sample: for every selector, a series of that name matching its
// label matchers (those without dashboard variables) and carrying every
// label the query groups by.
func unmetQueries(queries map[string]string, samples []sample) []string {
	var unmet []string
	for where, expr := range queries {
		var by []string
		for _, m := range byClause.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(m[1], ",") {
				by = append(by, strings.TrimSpace(l))
			}
		}
		for _, sel := range selector.FindAllStringSubmatch(expr, -1) {
			if onlyAfterFailure[sel[1]] {
				continue
			}
			if !slicesContainsFunc(samples, func(s sample) bool { return seriesMatches(s, sel[1], sel[2], by) }) {
				unmet = append(unmet, fmt.Sprintf("%s: no series for %s{%s} by %v", where, sel[1], sel[2], by))
			}
		}
	}
	return unmet
}

func seriesMatches(s sample, name, matchers string, by []string) bool {
	if s.name != name {
		return false
	}
	for _, m := range matcherParts.FindAllStringSubmatch(matchers, -1) {
		label, op, value := m[1], m[2], m[3]
		if strings.Contains(value, "$") {
			continue // a dashboard variable: any value
		}
		v, ok := s.labels[label]
		switch op {
		case "=":
			ok = ok && v == value
		case "!=":
			ok = v != value
		case "=~":
			ok = ok && regexp.MustCompile("^(?:"+value+")$").MatchString(v)
		case "!~":
			ok = !regexp.MustCompile("^(?:" + value + ")$").MatchString(v)
		}
		if !ok {
			return false
		}
	}
	for _, l := range by {
		if l == "le" && !strings.HasSuffix(name, "_bucket") {
			continue
		}
		if _, ok := s.labels[l]; !ok {
			return false
		}
	}
	return true
}

func slicesContainsFunc(s []sample, f func(sample) bool) bool {
	for _, e := range s {
		if f(e) {
			return true
		}
	}
	return false
}

// TestGatewayConfigEndToEnd runs the real binary with the compose gateway's
// config, its addresses moved to this host (an in-process Kafka, a fake
// Tempo, a fake Prometheus OTLP receiver, free ports), feeds it messages,
// an application's spans and an application consumer group that commits,
// and checks that the receive and settle spans reach Tempo and that every
// series the Messaging dashboard queries is there (the consumer metrics
// too), with the labels it groups by, and with exemplars that lead back to
// the trace.
func TestGatewayConfigEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the collector and an in-process Kafka")
	}
	bin := collectorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	kafka, err := harness.StartKafka(harness.Topic{Name: "orders", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer kafka.Close()
	tempo, tempoAddr := startFakeTempo(t)
	prom, promURL := startFakePrometheus(t)

	ports, err := harness.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	// Listeners move to free ports; flushes get short. Everything else is
	// the file as compose mounts it.
	overrides := fmt.Sprintf(`
extensions:
  health_check: {endpoint: %q}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: %q}
      http: {endpoint: %q}
connectors:
  span_metrics: {metrics_flush_interval: 1s}
  service_graph: {metrics_flush_interval: 1s}
service:
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus: {host: 127.0.0.1, port: %d, without_scope_info: true, without_units: true, without_type_suffix: true}
`, addr(0), addr(1), addr(2), ports[3])
	dir := t.TempDir()
	overridesPath := filepath.Join(dir, "overrides.yaml")
	if err := os.WriteFile(overridesPath, []byte(overrides), 0o600); err != nil {
		t.Fatal(err)
	}
	gatewayPath, err := filepath.Abs(gatewayConfig)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := harness.StartProcess(harness.ProcessConfig{
		Binary: bin,
		Args:   []string{"--config", gatewayPath, "--config", overridesPath},
		Env: []string{
			"KAFKA_BROKERS=" + kafka.Brokers()[0],
			"TEMPO_OTLP_ENDPOINT=" + tempoAddr,
			"PROMETHEUS_OTLP_METRICS_ENDPOINT=" + promURL,
			// Nothing listens there: the RabbitMQ tap must keep retrying
			// without holding the rest of the gateway back.
			"RABBITMQ_ENDPOINT=amqp://" + addr(4),
		},
		LogPath: filepath.Join(dir, "otelcol-msg.log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := proc.Stop(30 * time.Second); err != nil {
			t.Error(err)
		}
	}()
	if err := proc.WaitHealthy(ctx, "http://"+addr(0)+"/"); err != nil {
		t.Fatal(err)
	}

	// A traced message, one with a broken traceparent (a fault, still a
	// span), one from an uninstrumented producer (a rebuilt root).
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	if err := kafka.Produce(ctx,
		&kgo.Record{Topic: "orders", Partition: 0, Value: []byte(`{"order":1}`),
			Headers: []kgo.RecordHeader{harness.Header("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")}},
		&kgo.Record{Topic: "orders", Partition: 1, Value: []byte(`{"order":2}`),
			Headers: []kgo.RecordHeader{harness.Header("traceparent", "00-not-a-trace-context")}},
		&kgo.Record{Topic: "orders", Partition: 1, Value: []byte(`{"order":3}`)},
	); err != nil {
		t.Fatal(err)
	}
	// An application group reads the three messages and, once the gateway
	// watches it (its baseline: nothing committed), commits past them.
	const group = "billing"
	app, err := kgo.NewClient(kgo.SeedBrokers(kafka.Brokers()...), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	for read := 0; read < 3; {
		fetches := app.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("group %s read %d of 3 messages: %v", group, read, ctx.Err())
		}
		read += len(fetches.Records())
	}
	if err := proc.WaitLog(ctx, "kafka consumers: group watched"); err != nil {
		t.Fatalf("the gateway never watched group %s: %v\n%s", group, err, proc.LogTail(30))
	}
	if err := app.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}

	// The services' own spans, as they send them: the producer's send and
	// the consumer's failed process, one edge of the service map.
	now := time.Now()
	attrs := func(op string) string {
		return `[{"key":"messaging.system","value":{"stringValue":"kafka"}},{"key":"messaging.destination.name","value":{"stringValue":"orders"}},` +
			`{"key":"messaging.operation.type","value":{"stringValue":"` + op + `"}}`
	}
	body := fmt.Sprintf(`{"resourceSpans":[
{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},
 "scopeSpans":[{"spans":[{"traceId":%[1]q,"spanId":"00f067aa0ba902b7","name":"send orders","kind":4,
  "startTimeUnixNano":"%[2]d","endTimeUnixNano":"%[3]d","attributes":%[4]s]}]}]},
{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"billing"}}]},
 "scopeSpans":[{"spans":[{"traceId":%[1]q,"spanId":"c7ad6b7169203331","parentSpanId":"00f067aa0ba902b7","name":"process orders","kind":5,
  "startTimeUnixNano":"%[3]d","endTimeUnixNano":"%[5]d","status":{"code":2},
  "attributes":%[6]s,{"key":"error.type","value":{"stringValue":"ValueError"}}]}]}]}]}`,
		traceID, now.Add(-40*time.Millisecond).UnixNano(), now.Add(-30*time.Millisecond).UnixNano(),
		attrs("send"), now.UnixNano(), attrs("process"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr(2)+"/v1/traces", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP/HTTP export: %s", resp.Status)
	}

	queries := dashboardQueries(t, readDashboard(t))
	spanNames, _ := spanMetricsSeries(t)
	latency, exemplarLabel := spanNames[1], exemplarTraceIDLabel(t)
	var unmet []string
	for {
		span, arrived := tempo.receiveSpan(traceID)
		settle, settled := tempo.settleSpan(traceID, group)
		// The span metrics as Prometheus stores what the gateway pushed, and
		// the gateway's own telemetry as Prometheus scrapes it.
		if errs := prom.errors(); len(errs) > 0 {
			t.Fatalf("Prometheus's OTLP receiver would refuse the gateway's metrics:\n%s", strings.Join(errs, "\n"))
		}
		samples := prom.samples()
		own, err := scrape(ctx, "http://"+addr(3)+"/metrics")
		if err != nil && ctx.Err() == nil {
			t.Fatalf("scrape %s: %v", addr(3), err)
		}
		samples = append(samples, own...)
		unmet = append(unmetQueries(queries, samples), unmetQueries(serviceMapQueries, samples)...)
		if !prom.hasExemplar(latency, exemplarLabel, traceID) {
			unmet = append(unmet, fmt.Sprintf("%s: no exemplar with %s=%s for Grafana's trace link", latency, exemplarLabel, traceID))
		}
		if arrived && settled && len(unmet) == 0 {
			if got := span.ParentSpanID().String(); got != "00f067aa0ba902b7" {
				t.Errorf("receive span's parent %s, want the producer's span 00f067aa0ba902b7", got)
			}
			if got := settle.ParentSpanID().String(); got != "00f067aa0ba902b7" {
				t.Errorf("settle span's parent %s, want the producer's span 00f067aa0ba902b7", got)
			}
			// Only the services' orders -> billing edge: the gateway's own
			// receive spans stay out of service_graph.
			for _, s := range samples {
				if s.name == "otelcol_connector_servicegraph_total_edges" && s.value != 1 {
					t.Errorf("service_graph holds %v edges, want 1 (orders -> billing)", s.value)
				}
			}
			return
		}
		select {
		case <-proc.Done():
			t.Fatalf("otelcol-msg exited: %v\n%s", proc.ExitErr(), proc.LogTail(30))
		case <-ctx.Done():
			if !arrived {
				t.Errorf("Tempo never received the receive span of trace %s", traceID)
			}
			if !settled {
				t.Errorf("Tempo never received group %s's settle span of trace %s", group, traceID)
			}
			for _, u := range unmet {
				t.Error(u)
			}
			t.Fatalf("gave up: %v; errors in the gateway's log:\n%s", ctx.Err(), logErrors(proc.LogPath()))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// exemplarTraceIDLabel is the exemplar label from which Grafana's Prometheus
// data source opens a trace in Tempo.
func exemplarTraceIDLabel(t *testing.T) string {
	t.Helper()
	ds := readYAML(t, "grafana/provisioning/datasources/datasources.yaml")
	list, _ := dig(ds, "datasources")
	for _, d := range list.([]any) {
		if digString(t, d, "type") != "prometheus" {
			continue
		}
		dests, ok := dig(d, "jsonData", "exemplarTraceIdDestinations")
		if !ok || len(dests.([]any)) == 0 {
			t.Fatal("the Prometheus data source links no exemplar to a trace")
		}
		return digString(t, dests.([]any)[0], "name")
	}
	t.Fatal("no Prometheus data source")
	return ""
}

var logError = regexp.MustCompile(`"error": "((?:[^"\\]|\\.)*)"`)

// logErrors returns the distinct "error" fields of the collector's log.
func logErrors(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range logError.FindAllStringSubmatch(string(b), -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return strings.Join(out, "\n")
}
