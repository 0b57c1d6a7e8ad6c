package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// The group and scope the deploy/ configs use.
const (
	tierGroup       = "otelcol-msgtrace"
	msgtraceScope   = "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"
	graphRequests   = "traces_service_graph_request_total"
	instanceAttrKey = "collector.instance.id"
)

// TestTwoTier runs the two-tier recipe of deploy/ as shipped
// (deploy/otelcol-msg/tier1.yaml and tier2.yaml, only addresses overridden):
// two tier-1 replicas share the Kafka tap and take the apps' OTLP, and route
// by trace ID to two tier-2 instances that tail-sample and derive span
// metrics and the service graph. Each trace has three spans that enter tier
// 1 at three different places - the producer app's span on one replica, the
// consumer app's on the other, the receive span rebuilt by whichever replica
// holds the message's partition - and all three must arrive together on one
// tier-2 instance. Both instances must get traces, every orders -> billing
// call must be counted once in the service graph (only possible when both
// apps' spans met), and the two instances' series must stay apart.
func TestTwoTier(t *testing.T) {
	const (
		traces     = 200
		partitions = 4
		topic      = "orders"
	)
	srv := startKafkaServer(t, "kfake", 0, "", harness.Topic{Name: topic, Partitions: partitions})
	kafka := connectKafka(t, srv.Addr())
	dir := t.TempDir()

	tier2 := make([]*tier2Instance, 2)
	for i, name := range []string{"tier2-a", "tier2-b"} {
		tier2[i] = startTier2(t, dir, name)
	}
	// The shipped resolver is DNS (every address of one name); on one host
	// the two instances differ by port, which only the static resolver takes.
	tier1Config := withStaticResolver(t, deployConfig(t, "tier1.yaml"), dir,
		tier2[0].gw.OTLPGRPCEndpoint, tier2[1].gw.OTLPGRPCEndpoint)
	tier1 := make([]*harness.Gateway, 2)
	for i, name := range []string{"tier1-a", "tier1-b"} {
		tier1[i] = startTierGateway(t, tier1Config, dir, name, []string{srv.Addr()},
			// The shipped tier 1 also taps RabbitMQ's firehose: pointed at a
			// closed port, that tap retries in the background, out of the way.
			[]string{"KAFKA_BROKERS=" + srv.Addr(), "RABBITMQ_ENDPOINT=amqp://" + closedAddr(t)},
			"--set=receivers::otlp::protocols::http::endpoint=127.0.0.1:0",
			"--set=receivers::msgtrace::kafka::client_id="+name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scaleDeadline)
	defer cancel()
	split := waitForSplit(ctx, t, kafka, tierGroup, topic, partitions, 2)
	t.Logf("tier-1 replicas split the partitions: %v", split.Partitions)

	// Trace i: a message produced by the instrumented "orders" app, its
	// producer span sent to one tier-1 replica and the "billing" app's
	// consumer span to the other.
	records := make([]*kgo.Record, 0, traces)
	toTier1 := [2]ptrace.Traces{ptrace.NewTraces(), ptrace.NewTraces()}
	want := map[pcommon.TraceID]producerContext{}
	for i := range traces {
		pc := newProducerContext(i, true)
		want[pc.traceID] = pc
		records = append(records, tracedRecord(topic, int32(i%partitions), i, pc))
		appendSpan(toTier1[i%2], "orders", ptrace.SpanKindProducer, pc.traceID, pc.spanID, pcommon.SpanID{}, "send "+topic)
		var consumerID pcommon.SpanID
		copy(consumerID[:], fmt.Sprintf("bil%05d", i))
		appendSpan(toTier1[(i+1)%2], "billing", ptrace.SpanKindConsumer, pc.traceID, consumerID, pc.spanID, "process "+topic)
	}
	produce(t, kafka, records...)
	for i, gw := range tier1 {
		exportTraces(ctx, t, gw.OTLPGRPCEndpoint, toTier1[i])
	}

	// Every trace whole: the two app spans and the receive span.
	complete := func() bool {
		n := 0
		for _, in := range tier2 {
			n += in.spans.complete()
		}
		return n >= traces
	}
	deadline := time.Now().Add(scaleDeadline)
	for !complete() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	byInstance := make([]map[pcommon.TraceID][]spanSummary, len(tier2))
	for i, in := range tier2 {
		byInstance[i] = in.spans.snapshot()
	}
	for id, pc := range want {
		var holders []string
		for i, in := range tier2 {
			if spans, ok := byInstance[i][id]; ok {
				holders = append(holders, in.name)
				assert.ElementsMatch(t, []spanSummary{
					{service: "orders", kind: ptrace.SpanKindProducer, spanID: pc.spanID},
					{service: "billing", kind: ptrace.SpanKindConsumer, parent: pc.spanID},
					{service: "otelcol-msg", kind: ptrace.SpanKindClient, parent: pc.spanID, scope: msgtraceScope},
				}, withoutIDs(spans), "trace %s on %s", id, in.name)
			}
		}
		assert.Len(t, holders, 1, "trace %s must arrive whole on exactly one tier-2 instance, found on %v", id, holders)
	}
	for i, in := range tier2 {
		assert.NotEmpty(t, byInstance[i], "%s received no trace: the ring sends everything to one instance", in.name)
	}

	// The service graph: every call counted once, on the instance that
	// holds its trace, under that instance's name.
	var perInstance []float64
	deadline = time.Now().Add(scaleDeadline)
	for {
		perInstance = perInstance[:0]
		sum := 0.0
		for _, in := range tier2 {
			v := latestEdgeCount(in.metrics.Metrics(), "orders", "billing")
			perInstance = append(perInstance, v)
			sum += v
		}
		if sum >= traces || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var total float64
	for i, in := range tier2 {
		assert.Equal(t, float64(len(byInstance[i])), perInstance[i],
			"%s counts one orders -> billing call per trace it holds", in.name)
		total += perInstance[i]
		for _, got := range instanceIDs(in.metrics.Metrics()) {
			assert.Equal(t, in.name, got, "series from %s carry its %s", in.name, instanceAttrKey)
		}
	}
	assert.Equal(t, float64(traces), total, "orders -> billing calls over both instances")
	// Both instances push the orders -> billing series: only the instance
	// attribute keeps the two apart.
	a, b := edgeSeries(tier2[0].metrics.Metrics()), edgeSeries(tier2[1].metrics.Metrics())
	require.NotEmpty(t, a)
	require.NotEmpty(t, b)
	for k := range a {
		assert.NotContains(t, b, k, "tier2-a and tier2-b push the same series %q", k)
	}
	t.Logf("traces per tier-2 instance: %s=%d %s=%d", tier2[0].name, len(byInstance[0]), tier2[1].name, len(byInstance[1]))
}

// tier2Instance is one tier-2 gateway with its trace and metrics backends.
type tier2Instance struct {
	name    string
	gw      *harness.Gateway
	spans   *traceCollector
	metrics *harness.MetricsSink
}

func startTier2(t *testing.T, dir, name string) *tier2Instance {
	t.Helper()
	in := &tier2Instance{name: name, spans: newTraceCollector()}
	sink, err := harness.StartSink(in.spans.record)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sink.Stop()) })
	in.metrics, err = harness.StartMetricsSink()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, in.metrics.Stop()) })
	in.gw = startTierGateway(t, deployConfig(t, "tier2.yaml"), dir, name, nil, []string{
		"TEMPO_OTLP_ENDPOINT=" + sink.Endpoint(),
		"PROMETHEUS_OTLP_METRICS_ENDPOINT=" + in.metrics.URL(),
		"OTELCOL_MSG_INSTANCE_ID=" + name,
		"OTELCOL_MSG_TAIL_DECISION_WAIT=1s",
	},
		"--set=connectors::span_metrics::metrics_flush_interval=500ms",
		"--set=connectors::service_graph::metrics_flush_interval=500ms")
	return in
}

// deployConfig returns the path of deploy/otelcol-msg/<name>.
func deployConfig(t *testing.T, name string) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, err := harness.ModuleRoot(wd)
	require.NoError(t, err)
	return filepath.Join(root, "deploy", "otelcol-msg", name)
}

// withStaticResolver writes a copy of the collector config at path into dir
// whose loadbalancing exporter resolves to the given endpoints, and returns
// the copy's path. Nothing else of the config changes.
func withStaticResolver(t *testing.T, path, dir string, endpoints ...string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	lb, ok := cfg["exporters"].(map[string]any)["loadbalancing"].(map[string]any)
	require.True(t, ok, "%s has no loadbalancing exporter", path)
	_, ok = lb["resolver"].(map[string]any)["dns"]
	require.True(t, ok, "%s: the loadbalancing exporter has no dns resolver to replace", path)
	lb["resolver"] = map[string]any{"static": map[string]any{"hostnames": endpoints}}
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	copyPath := filepath.Join(dir, "static-"+filepath.Base(path))
	require.NoError(t, os.WriteFile(copyPath, out, 0o600))
	return copyPath
}

// startTierGateway runs the collector config at path with its listeners
// moved to the ports the harness picked and its own telemetry off; it is
// stopped with the test and must stop cleanly.
func startTierGateway(t *testing.T, path, dir, name string, brokers, env []string, args ...string) *harness.Gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	gw, err := harness.StartGateway(ctx, harness.GatewayConfig{
		Binary:     otelcolBinary(t),
		ConfigPath: path,
		Brokers:    brokers,
		Dir:        dir,
		OutputName: name + ".json",
		Env:        env,
		Args: append([]string{
			"--set=extensions::health_check::endpoint=${env:" + harness.EnvHealthEndpoint + "}",
			"--set=receivers::otlp::protocols::grpc::endpoint=${env:" + harness.EnvOTLPGRPCEndpoint + "}",
			"--set=service::telemetry::metrics::level=none",
		}, args...),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := gw.Stop(spanDeadline); err != nil {
			t.Errorf("stop %s: %v", name, err)
		}
	})
	return gw
}

// appendSpan adds an app's span to td under a resource of its service.
func appendSpan(td ptrace.Traces, service string, kind ptrace.SpanKind, traceID pcommon.TraceID, id, parent pcommon.SpanID, name string) {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName(name)
	s.SetKind(kind)
	s.SetTraceID(traceID)
	s.SetSpanID(id)
	s.SetParentSpanID(parent)
	now := time.Now()
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-2 * time.Millisecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	s.Attributes().PutStr("messaging.system", "kafka")
	s.Attributes().PutStr("messaging.destination.name", "orders")
}

// exportTraces sends td over OTLP/gRPC, as an app's SDK does.
func exportTraces(ctx context.Context, t *testing.T, endpoint string, td ptrace.Traces) {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err, "export to %s", endpoint)
}

// spanSummary is what the two-tier test checks of a span.
type spanSummary struct {
	service string
	kind    ptrace.SpanKind
	spanID  pcommon.SpanID // checked for app producer spans only
	parent  pcommon.SpanID
	scope   string // checked for the msgtrace spans only
}

// withoutIDs blanks the span IDs the test cannot know in advance (the
// consumer app's and the rebuilt receive span's) and the scope of the apps'.
func withoutIDs(spans []spanSummary) []spanSummary {
	out := make([]spanSummary, len(spans))
	for i, s := range spans {
		if s.kind != ptrace.SpanKindProducer {
			s.spanID = pcommon.SpanID{}
		}
		if s.scope != msgtraceScope {
			s.scope = ""
		}
		out[i] = s
	}
	return out
}

// traceCollector keeps what a tier-2 instance exported, by trace.
type traceCollector struct {
	mu      sync.Mutex
	byTrace map[pcommon.TraceID][]spanSummary
}

func newTraceCollector() *traceCollector {
	return &traceCollector{byTrace: map[pcommon.TraceID][]spanSummary{}}
}

func (c *traceCollector) record(td ptrace.Traces) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range harness.Spans(td) {
		service, _ := r.Resource.Attributes().Get("service.name")
		id := r.Span.TraceID()
		c.byTrace[id] = append(c.byTrace[id], spanSummary{
			service: service.Str(),
			kind:    r.Span.Kind(),
			spanID:  r.Span.SpanID(),
			parent:  r.Span.ParentSpanID(),
			scope:   r.Scope.Name(),
		})
	}
}

// complete counts the traces that have their three spans.
func (c *traceCollector) complete() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, spans := range c.byTrace {
		if len(spans) >= 3 {
			n++
		}
	}
	return n
}

func (c *traceCollector) snapshot() map[pcommon.TraceID][]spanSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[pcommon.TraceID][]spanSummary, len(c.byTrace))
	for id, spans := range c.byTrace {
		out[id] = append([]spanSummary(nil), spans...)
	}
	return out
}

// eachDataPoint calls f with the attributes and value of every sum data
// point of the named metric.
func eachDataPoint(exports []pmetric.Metrics, name string, f func(attrs pcommon.Map, ts pcommon.Timestamp, v float64)) {
	for _, md := range exports {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != name || m.Type() != pmetric.MetricTypeSum {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						v := dp.DoubleValue()
						if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
							v = float64(dp.IntValue())
						}
						f(dp.Attributes(), dp.Timestamp(), v)
					}
				}
			}
		}
	}
}

// latestEdgeCount is the newest cumulative request count of the
// client -> server edge in the exports.
func latestEdgeCount(exports []pmetric.Metrics, client, server string) float64 {
	var latest pcommon.Timestamp
	var v float64
	eachDataPoint(exports, graphRequests, func(attrs pcommon.Map, ts pcommon.Timestamp, value float64) {
		c, _ := attrs.Get("client")
		s, _ := attrs.Get("server")
		if c.Str() == client && s.Str() == server && ts >= latest {
			latest, v = ts, value
		}
	})
	return v
}

// instanceIDs returns the instance attribute of every service_graph data
// point ("" for one without it).
func instanceIDs(exports []pmetric.Metrics) []string {
	var out []string
	eachDataPoint(exports, graphRequests, func(attrs pcommon.Map, _ pcommon.Timestamp, _ float64) {
		v, _ := attrs.Get(instanceAttrKey)
		out = append(out, v.Str())
	})
	return out
}

// edgeSeries returns the identities of the service_graph request series in
// the exports, as Prometheus would label them: the data point attributes.
func edgeSeries(exports []pmetric.Metrics) map[string]bool {
	out := map[string]bool{}
	eachDataPoint(exports, graphRequests, func(attrs pcommon.Map, _ pcommon.Timestamp, _ float64) {
		out[fmt.Sprint(attrs.AsRaw())] = true
	})
	return out
}

// closedAddr is a 127.0.0.1 address where nothing listens (a port that was
// free a moment ago).
func closedAddr(t *testing.T) string {
	t.Helper()
	ports, err := harness.FreePorts(1)
	require.NoError(t, err)
	return fmt.Sprintf("127.0.0.1:%d", ports[0])
}
