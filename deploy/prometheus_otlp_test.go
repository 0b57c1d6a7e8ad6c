package deploy_test

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// otlpMetricsPath is where Prometheus 3 takes OTLP metrics when started
// with --web.enable-otlp-receiver.
const otlpMetricsPath = "/api/v1/otlp/v1/metrics"

// promKind is what of an OTLP metric's type the name translation looks at.
type promKind int

const (
	promGauge   promKind = iota
	promCounter          // a monotonic sum
	promOther            // non-monotonic sum, histogram
)

// promUnits are the OTLP units the gateway's metrics use, as Prometheus's
// default translation (UnderscoreEscapingWithSuffixes) appends them to
// names. A unit in braces is an annotation and adds nothing.
var promUnits = map[string]string{"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}

// promMetricName is the series name Prometheus's OTLP receiver gives an OTLP
// metric under UnderscoreEscapingWithSuffixes: the name split on what is not
// a letter, digit or colon, then the unit, `_total` for counters and
// `_ratio` for gauges of unit 1, each added once. Units it does not know
// are an error, so a new one cannot pass with a guessed name.
func promMetricName(name, unit string, kind promKind) (string, error) {
	tokens := strings.FieldsFunc(name, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != ':'
	})
	if u := strings.TrimSpace(unit); u != "" && !strings.ContainsAny(u, "{}") {
		suffix, ok := promUnits[u]
		if !ok {
			return "", fmt.Errorf("metric %s: unit %q is not modelled here", name, unit)
		}
		if suffix != "" && !slices.Contains(tokens, suffix) {
			tokens = append(tokens, suffix)
		}
	}
	moveLast := func(suffix string) {
		tokens = append(slices.DeleteFunc(tokens, func(s string) bool { return s == suffix }), suffix)
	}
	if kind == promCounter {
		moveLast("total")
	}
	if kind == promGauge && unit == "1" {
		moveLast("ratio")
	}
	out := strings.Join(tokens, "_")
	if out == "" {
		return "", fmt.Errorf("metric %q: empty name", name)
	}
	if unicode.IsDigit(rune(out[0])) {
		out = "_" + out
	}
	return out, nil
}

// promLabelName is the label an OTLP attribute key becomes: every character
// but letters, digits and underscores turns into an underscore.
func promLabelName(key string) (string, error) {
	if key == "" || !unicode.IsLetter(rune(key[0])) {
		return "", fmt.Errorf("attribute key %q: only keys starting with a letter are modelled here", key)
	}
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '_' {
			return r
		}
		return '_'
	}, key), nil
}

// fakePrometheus is Prometheus's OTLP receiver as far as the gateway and the
// dashboard see it: it takes OTLP/HTTP metrics at otlpMetricsPath (protobuf
// or JSON, gzip or not), refuses what Prometheus 3.5 refuses without extra
// feature flags (delta temporality, exponential histograms), and keeps the
// latest sample of each series under the names and labels Prometheus would
// store, with the exemplars' trace_id/span_id labels.
type fakePrometheus struct {
	mu        sync.Mutex
	series    map[string]sample
	exemplars map[string][]map[string]string // by series name
	errs      []string
}

func startFakePrometheus(t *testing.T) (*fakePrometheus, string) {
	t.Helper()
	f := &fakePrometheus{series: map[string]sample{}, exemplars: map[string][]map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + otlpMetricsPath
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != otlpMetricsPath {
		f.fail(fmt.Sprintf("%s %s: Prometheus serves OTLP at POST %s", r.Method, r.URL.Path, otlpMetricsPath))
		http.NotFound(w, r)
		return
	}
	md, err := decodeOTLPMetrics(r)
	if err == nil {
		err = f.add(md)
	}
	if err != nil {
		f.fail(err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func decodeOTLPMetrics(r *http.Request) (pmetric.Metrics, error) {
	body := io.Reader(r.Body)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "":
	case "gzip":
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return pmetric.Metrics{}, err
		}
		defer gz.Close()
		body = gz
	default:
		return pmetric.Metrics{}, fmt.Errorf("content encoding %q: Prometheus takes gzip or none", enc)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return pmetric.Metrics{}, err
	}
	req := pmetricotlp.NewExportRequest()
	switch ct := r.Header.Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = req.UnmarshalProto(b)
	case "application/json":
		err = req.UnmarshalJSON(b)
	default:
		err = fmt.Errorf("content type %q: Prometheus takes application/x-protobuf or application/json", ct)
	}
	return req.Metrics(), err
}

func (f *fakePrometheus) fail(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, msg)
}

// add stores md's samples; the OTLP exporter sends cumulative data, so the
// latest value of a series replaces the one before.
func (f *fakePrometheus) add(md pmetric.Metrics) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for _, rm := range md.ResourceMetrics().All() {
		// Prometheus's target labels: job from service.namespace/service.name,
		// instance from service.instance.id.
		target := map[string]string{}
		res := rm.Resource().Attributes()
		if name, ok := res.Get("service.name"); ok {
			target["job"] = name.AsString()
			if ns, ok := res.Get("service.namespace"); ok {
				target["job"] = ns.AsString() + "/" + target["job"]
			}
		}
		if id, ok := res.Get("service.instance.id"); ok {
			target["instance"] = id.AsString()
		}
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				errs = append(errs, f.addMetric(m, target))
			}
		}
	}
	return errors.Join(errs...)
}

func (f *fakePrometheus) addMetric(m pmetric.Metric, target map[string]string) error {
	put := func(name string, attrs pcommon.Map, extra map[string]string, value float64) error {
		labels := map[string]string{}
		for k, v := range attrs.All() {
			l, err := promLabelName(k)
			if err != nil {
				return fmt.Errorf("%s: %w", m.Name(), err)
			}
			if _, dup := labels[l]; dup {
				return fmt.Errorf("%s: two attributes become label %s", m.Name(), l)
			}
			labels[l] = v.AsString()
		}
		maps.Copy(labels, target)
		maps.Copy(labels, extra)
		f.series[seriesKey(name, labels)] = sample{name: name, labels: labels, value: value}
		return nil
	}
	numberValue := func(dp pmetric.NumberDataPoint) float64 {
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			return float64(dp.IntValue())
		}
		return dp.DoubleValue()
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		name, err := promMetricName(m.Name(), m.Unit(), promGauge)
		if err != nil {
			return err
		}
		for _, dp := range m.Gauge().DataPoints().All() {
			if err := put(name, dp.Attributes(), nil, numberValue(dp)); err != nil {
				return err
			}
		}
	case pmetric.MetricTypeSum:
		if tmp := m.Sum().AggregationTemporality(); tmp != pmetric.AggregationTemporalityCumulative {
			return fmt.Errorf("%s: %s temporality, Prometheus takes cumulative only", m.Name(), tmp)
		}
		kind := promOther
		if m.Sum().IsMonotonic() {
			kind = promCounter
		}
		name, err := promMetricName(m.Name(), m.Unit(), kind)
		if err != nil {
			return err
		}
		for _, dp := range m.Sum().DataPoints().All() {
			if err := put(name, dp.Attributes(), nil, numberValue(dp)); err != nil {
				return err
			}
			f.addExemplars(name, dp.Exemplars())
		}
	case pmetric.MetricTypeHistogram:
		if tmp := m.Histogram().AggregationTemporality(); tmp != pmetric.AggregationTemporalityCumulative {
			return fmt.Errorf("%s: %s temporality, Prometheus takes cumulative only", m.Name(), tmp)
		}
		name, err := promMetricName(m.Name(), m.Unit(), promOther)
		if err != nil {
			return err
		}
		for _, dp := range m.Histogram().DataPoints().All() {
			bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
			if counts.Len() != bounds.Len()+1 {
				return fmt.Errorf("%s: %d bucket counts for %d bounds", m.Name(), counts.Len(), bounds.Len())
			}
			var cumulative uint64
			for i, c := range counts.All() {
				cumulative += c
				le := "+Inf"
				if i < bounds.Len() {
					le = strconv.FormatFloat(bounds.At(i), 'f', -1, 64)
				}
				if err := put(name+"_bucket", dp.Attributes(), map[string]string{"le": le}, float64(cumulative)); err != nil {
					return err
				}
			}
			if dp.HasSum() {
				if err := put(name+"_sum", dp.Attributes(), nil, dp.Sum()); err != nil {
					return err
				}
			}
			if err := put(name+"_count", dp.Attributes(), nil, float64(dp.Count())); err != nil {
				return err
			}
			f.addExemplars(name+"_bucket", dp.Exemplars())
		}
	case pmetric.MetricTypeExponentialHistogram:
		return fmt.Errorf("%s: exponential histogram, which Prometheus 3.5 stores only with --enable-feature=native-histograms", m.Name())
	default:
		return fmt.Errorf("%s: %s is not modelled here", m.Name(), m.Type())
	}
	return nil
}

func (f *fakePrometheus) addExemplars(series string, exs pmetric.ExemplarSlice) {
	for _, ex := range exs.All() {
		labels := map[string]string{}
		if id := ex.TraceID(); !id.IsEmpty() {
			labels["trace_id"] = id.String()
		}
		if id := ex.SpanID(); !id.IsEmpty() {
			labels["span_id"] = id.String()
		}
		f.exemplars[series] = append(f.exemplars[series], labels)
	}
}

func seriesKey(name string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(&b, "\xff%s=%s", k, labels[k])
	}
	return b.String()
}

// samples are the latest samples of every series stored so far.
func (f *fakePrometheus) samples() []sample {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Values(f.series))
}

// hasExemplar reports whether an exemplar of series carries label=value.
func (f *fakePrometheus) hasExemplar(series, label, value string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.ContainsFunc(f.exemplars[series], func(l map[string]string) bool { return l[label] == value })
}

// errors are the requests it refused, and why.
func (f *fakePrometheus) errors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.errs)
}

// The translation model gives the names Prometheus documents for the
// OTLP metrics the gateway sends, and refuses to guess the rest.
func TestPromMetricName(t *testing.T) {
	for _, c := range []struct {
		name, unit string
		kind       promKind
		want       string
	}{
		{"traces.span.metrics.calls", "", promCounter, "traces_span_metrics_calls_total"},
		{"traces.span.metrics.duration", "s", promOther, "traces_span_metrics_duration_seconds"},
		{"traces.span.metrics.duration", "ms", promOther, "traces_span_metrics_duration_milliseconds"},
		{"traces_service_graph_request_total", "", promCounter, "traces_service_graph_request_total"},
		{"traces_service_graph_request_server", "s", promOther, "traces_service_graph_request_server_seconds"},
		{"http.server.request.duration_seconds", "s", promOther, "http_server_request_duration_seconds"},
		{"messaging.client.sent.messages", "{message}", promCounter, "messaging_client_sent_messages_total"},
		{"total.requests", "1", promCounter, "requests_total"},
		{"system.cpu.utilization", "1", promGauge, "system_cpu_utilization_ratio"},
		{"process.memory.usage", "By", promOther, "process_memory_usage_bytes"},
		{"2xx.responses", "", promGauge, "_2xx_responses"},
	} {
		got, err := promMetricName(c.name, c.unit, c.kind)
		if err != nil || got != c.want {
			t.Errorf("promMetricName(%q, %q, %d) = %q, %v; want %q", c.name, c.unit, c.kind, got, err, c.want)
		}
	}
	if got, err := promMetricName("network.io", "By/s", promCounter); err == nil {
		t.Errorf("a unit not modelled became %q", got)
	}
	for key, want := range map[string]string{"service.name": "service_name", "messaging.destination.name": "messaging_destination_name", "error.type": "error_type"} {
		if got, err := promLabelName(key); err != nil || got != want {
			t.Errorf("promLabelName(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
}
