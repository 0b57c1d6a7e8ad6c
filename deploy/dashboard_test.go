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
	labels = []string{"le"}
	for _, k := range keys {
		l, err := promLabelName(k)
		if err != nil {
			t.Fatal(err)
		}
		labels = append(labels, l)
	}
	return names, labels
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

var (
	metricName   = regexp.MustCompile(`\b(traces_[a-z_]+|otelcol_[a-z_]+)\b`)
	labelMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	byClause     = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	labelValues  = regexp.MustCompile(`label_values\([^,]*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)`)
)

// The dashboard only queries series the gateway config produces, with labels
// those series carry.
func TestDashboardQueriesMatchGateway(t *testing.T) {
	spanNames, spanLabels := spanMetricsSeries(t)
	own := gatewayOwnMetrics(t)
	used := map[string]bool{}
	for where, expr := range dashboardQueries(t, readDashboard(t)) {
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: no gateway series in %s", where, expr)
			continue
		}
		spanQuery := false
		for _, n := range names {
			used[n] = true
			switch {
			case slices.Contains(spanNames, n):
				spanQuery = true
			case slices.Contains(own, n):
			default:
				t.Errorf("%s: %s is not a series of the gateway (span metrics %v, own %v)", where, n, spanNames, own)
			}
		}
		if !spanQuery {
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
			if !slices.Contains(spanLabels, l) {
				t.Errorf("%s: label %s is not a span_metrics dimension (%v)", where, l, spanLabels)
			}
		}
	}
	// What the issue asks of the dashboard: messages/s, delivery latency,
	// errors per destination.
	for _, n := range []string{spanNames[0], spanNames[1]} {
		if !used[n] {
			t.Errorf("the dashboard does not query %s", n)
		}
	}
}
