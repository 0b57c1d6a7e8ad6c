package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const dashboardFile = "grafana/dashboards/messaging.json"

type dashboard struct {
	UID        string           `json:"uid"`
	Title      string           `json:"title"`
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string       `json:"name"`
			Datasource dashboardRef `json:"datasource"`
			Definition string       `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type dashboardRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboardPanel struct {
	Type       string        `json:"type"`
	Title      string        `json:"title"`
	Datasource *dashboardRef `json:"datasource"`
	Targets    []struct {
		Datasource *dashboardRef `json:"datasource"`
		Expr       string        `json:"expr"`
	} `json:"targets"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Fatalf("%s: no uid or title", dashboardFile)
	}
	return d
}

// dashboardQueries are the PromQL expressions of the dashboard, by where
// they are used.
func dashboardQueries(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	q := map[string]string{}
	for _, p := range d.Panels {
		for i, tg := range p.Targets {
			q[p.Title+"#"+string(rune('A'+i))] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		q["variable "+v.Name] = v.Definition
	}
	return q
}

// Every panel queries a provisioned data source.
func TestDashboardDataSources(t *testing.T) {
	ds := readYAML(t, "grafana/provisioning/datasources/datasources.yaml")
	uids := map[string]string{}
	list, _ := dig(ds, "datasources")
	for _, d := range list.([]any) {
		uids[digString(t, d, "uid")] = digString(t, d, "type")
	}
	check := func(where string, r *dashboardRef) {
		if r == nil {
			t.Errorf("%s: no data source", where)
			return
		}
		if typ, ok := uids[r.UID]; !ok || typ != r.Type {
			t.Errorf("%s: data source %+v is not provisioned (%v)", where, *r, uids)
		}
	}
	d := readDashboard(t)
	panels := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		panels++
		check(p.Title, p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("panel %s has no query", p.Title)
		}
		for _, tg := range p.Targets {
			check(p.Title, tg.Datasource)
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %s: empty query", p.Title)
			}
		}
	}
	for _, v := range d.Templating.List {
		check("variable "+v.Name, &v.Datasource)
	}
	if panels == 0 {
		t.Fatal("the dashboard has no panels")
	}
}

// spanMetricsSeries derives the Prometheus names and labels of the gateway's
// span_metrics connector from its config, as Prometheus's OTLP receiver
// stores what the connector pushes (promMetricName, promLabelName).
func spanMetricsSeries(t *testing.T) (names, labels []string) {
	t.Helper()
	cfg := readYAML(t, gatewayConfig)
	sm, ok := dig(cfg, "connectors", "span_metrics")
	if !ok {
		t.Fatal("gateway: no span_metrics connector")
	}
	ns := "traces.span.metrics"
	if v, ok := dig(sm, "namespace"); ok {
		ns = v.(string)
	}
	unit := "ms"
	if v, ok := dig(sm, "histogram", "unit"); ok {
		unit = v.(string)
	}
	calls, err := promMetricName(ns+".calls", "", promCounter)
	if err != nil {
		t.Fatal(err)
	}
	duration, err := promMetricName(ns+".duration", unit, promOther)
	if err != nil {
		t.Fatal(err)
	}
	names = []string{calls}
	for _, s := range []string{"bucket", "sum", "count"} {
		names = append(names, duration+"_"+s)
	}
	// The connector's fixed dimensions, then the configured ones.
	keys := []string{"service.name", "span.name", "span.kind", "status.code", "collector.instance.id"}
	dims, _ := dig(sm, "dimensions")
	for _, d := range dims.([]any) {
		keys = append(keys, digString(t, d, "name"))
	}
	return names, promLabels(t, keys)
}

// gatewayOwnMetrics are the self-telemetry series the dashboard may use: the
// collector's (names as the prometheus reader writes them with
// without_type_suffix) and the msgtrace receiver's, from its metadata.yaml.
func gatewayOwnMetrics(t *testing.T) []string {
	t.Helper()
	names := []string{
		"otelcol_receiver_accepted_spans", "otelcol_receiver_refused_spans",
		"otelcol_exporter_queue_size", "otelcol_exporter_queue_capacity",
		"otelcol_exporter_sent_spans", "otelcol_exporter_send_failed_spans",
		"otelcol_process_memory_rss",
	}
	md := readYAML(t, filepath.Join(repoRoot, "msgtracereceiver", "metadata.yaml"))
	metrics, ok := dig(md, "telemetry", "metrics")
	if !ok {
		t.Fatal("msgtracereceiver/metadata.yaml declares no telemetry metrics")
	}
	for name := range metrics.(map[string]any) {
		names = append(names, "otelcol_"+name)
	}
	return names
}

// consumersWatched are the msgtrace sources of cfg with a consumers block
// enabled.
func consumersWatched(t *testing.T, cfg map[string]any) []string {
	t.Helper()
	var out []string
	for _, src := range []string{"kafka", "rabbitmq", "nats", "redis"} {
		if on, _ := dig(cfg, "receivers", "msgtrace", src, "consumers", "enabled"); on == true {
			out = append(out, src)
		}
	}
	return out
}

// consumerMetricRow is a row of the receiver README's consumer metrics
// table: name, type, unit and the Prometheus name it gives in brackets.
var consumerMetricRow = regexp.MustCompile("(?m)^\\| `(msgtrace\\.consumer\\.[a-z_.]+)` \\| (histogram|gauge|counter)[^|]*`([^`]+)` \\|.*\\[`([a-z_]+)`\\]")

// consumerSeries derives the Prometheus names and labels of msgtrace's
// consumer metrics as the gateway pushes them, from the receiver README's
// metrics table (whose bracketed names must be what the translation
// gives): none unless a msgtrace source watches consumers and a metrics
// pipeline takes msgtrace (TestComposeRedMetricsReachPrometheus checks
// where it goes). TestGatewayConfigEndToEnd proves the binary pushes the
// ones the dashboard queries.
func consumerSeries(t *testing.T) (names, labels []string) {
	t.Helper()
	cfg := readYAML(t, gatewayConfig)
	if len(consumersWatched(t, cfg)) == 0 {
		return nil, nil
	}
	var processors []string
	pipelines, _ := dig(cfg, "service", "pipelines")
	for name, p := range pipelines.(map[string]any) {
		recv, _ := dig(p, "receivers")
		if strings.HasPrefix(name, "metrics") && slices.Contains(asList(recv), "msgtrace") {
			procs, _ := dig(p, "processors")
			processors = asList(procs)
		}
	}
	if processors == nil {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "msgtracereceiver", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := consumerMetricRow.FindAllStringSubmatch(string(b), -1)
	if len(rows) == 0 {
		t.Fatal("msgtracereceiver/README.md: no consumer metrics table")
	}
	for _, r := range rows {
		kind := map[string]promKind{"histogram": promOther, "gauge": promGauge, "counter": promCounter}[r[2]]
		name, err := promMetricName(r[1], r[3], kind)
		if err != nil {
			t.Fatal(err)
		}
		if name != r[4] {
			t.Errorf("msgtracereceiver/README.md: %s is %s in Prometheus, not %s", r[1], name, r[4])
		}
		if r[2] == "histogram" {
			names = append(names, name+"_bucket", name+"_sum", name+"_count")
		} else {
			names = append(names, name)
		}
	}
	// The data points' attributes (README, "Metrics"), the replica's
	// collector.instance.id when the pipeline adds it.
	keys := []string{"messaging.system", "messaging.consumer.group.name", "messaging.destination.name", "messaging.destination.partition.id"}
	for _, p := range processors {
		if added, _ := dig(cfg, "processors", p, "actions"); added != nil {
			for _, a := range added.([]any) {
				keys = append(keys, digString(t, a, "key"))
			}
		}
	}
	return names, promLabels(t, keys)
}

var (
	metricName   = regexp.MustCompile(`\b(traces_[a-z_]+|otelcol_[a-z_]+|msgtrace_[a-z_]+)\b`)
	labelMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	byClause     = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	labelValues  = regexp.MustCompile(`label_values\([^,]*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)`)
)

// The dashboard only queries series the gateway config produces, with labels
// those series carry.
func TestDashboardQueriesMatchGateway(t *testing.T) {
	spanNames, spanLabels := spanMetricsSeries(t)
	consumerNames, consumerLabels := consumerSeries(t)
	own := gatewayOwnMetrics(t)
	used := map[string]bool{}
	for where, expr := range dashboardQueries(t, readDashboard(t)) {
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: no gateway series in %s", where, expr)
			continue
		}
		// The labels a query may use: those of the pushed series it reads.
		var allowed []string
		for _, n := range names {
			used[n] = true
			switch {
			case slices.Contains(spanNames, n):
				allowed = spanLabels
			case slices.Contains(consumerNames, n):
				allowed = consumerLabels
			case slices.Contains(own, n):
			default:
				t.Errorf("%s: %s is not a series of the gateway (span metrics %v, consumer metrics %v, own %v)", where, n, spanNames, consumerNames, own)
			}
		}
		if allowed == nil {
			continue
		}
		var labels []string
		for _, m := range labelMatcher.FindAllStringSubmatch(expr, -1) {
			labels = append(labels, m[1])
		}
		for _, m := range byClause.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(m[1], ",") {
				labels = append(labels, strings.TrimSpace(l))
			}
		}
		for _, m := range labelValues.FindAllStringSubmatch(expr, -1) {
			labels = append(labels, m[1])
		}
		for _, l := range labels {
			if !slices.Contains(allowed, l) {
				t.Errorf("%s: label %s is not one of its series' (%v)", where, l, allowed)
			}
		}
	}
	// What the issues ask of the dashboard: messages/s, delivery latency,
	// errors per destination; consumer groups' time lag and time in queue.
	want := []string{spanNames[0], spanNames[1]}
	if consumerNames == nil {
		t.Error("the gateway pushes no consumer metrics (a msgtrace source with consumers enabled, msgtrace in a metrics pipeline)")
	}
	for _, n := range consumerNames {
		if strings.Contains(n, "lag_age") || strings.HasSuffix(n, "time_in_queue_seconds_bucket") {
			want = append(want, n)
		}
	}
	for _, n := range want {
		if !used[n] {
			t.Errorf("the dashboard does not query %s", n)
		}
	}
}

// promLabels are the Prometheus labels of attribute keys, with the
// histograms' le.
func promLabels(t *testing.T, keys []string) []string {
	t.Helper()
	labels := []string{"le"}
	for _, k := range keys {
		l, err := promLabelName(k)
		if err != nil {
			t.Fatal(err)
		}
		labels = append(labels, l)
	}
	return labels
}
