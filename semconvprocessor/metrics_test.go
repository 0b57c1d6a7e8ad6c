package semconvprocessor

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/metadatatest"
	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

func TestUnitFits(t *testing.T) {
	tests := []struct {
		unit, target string
		want         bool
	}{
		{"s", "s", true},
		{"ms", "s", false},
		{"", "s", true}, // unit not stated: the old metric's definition, seconds
		{"1", "s", false},
		{"{message}", "{message}", true},
		{"message", "{message}", true},
		{"messages", "{message}", true},
		{"{messages}", "{message}", true},
		{"1", "{message}", true},
		{"", "{message}", true},
		{"By", "{message}", false},
		{"{batch}", "{message}", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, unitFits(tt.unit, tt.target), "%q -> %q", tt.unit, tt.target)
	}
}

func TestFits(t *testing.T) {
	histogram := renames.Metric{Name: "messaging.client.operation.duration", Instrument: "histogram", Unit: "s"}
	counter := renames.Metric{Name: "messaging.client.sent.messages", Instrument: "counter", Unit: "{message}"}
	m := pmetric.NewMetric()
	m.SetUnit("s")
	m.SetEmptyHistogram()
	assert.True(t, fits(m, histogram))
	m.SetEmptyExponentialHistogram()
	assert.True(t, fits(m, histogram))
	m.SetEmptyGauge()
	assert.False(t, fits(m, histogram))

	m.SetUnit("{message}")
	m.SetEmptySum().SetIsMonotonic(true)
	assert.True(t, fits(m, counter))
	m.Sum().SetIsMonotonic(false)
	assert.False(t, fits(m, counter), "an up-down counter is not a counter")
	m.SetEmptyGauge()
	assert.False(t, fits(m, counter))
}

// scopeWith returns metrics with one scope holding the given metrics.
func scopeWith(add ...func(pmetric.MetricSlice)) pmetric.Metrics {
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	for _, f := range add {
		f(ms)
	}
	return md
}

func histogramMetric(name string, exponential bool, temporality pmetric.AggregationTemporality, attrs map[string]any) func(pmetric.MetricSlice) {
	return func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit("s")
		if exponential {
			h := m.SetEmptyExponentialHistogram()
			h.SetAggregationTemporality(temporality)
			dp := h.DataPoints().AppendEmpty()
			dp.SetCount(3)
			_ = dp.Attributes().FromRaw(attrs)
			return
		}
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(temporality)
		dp := h.DataPoints().AppendEmpty()
		dp.SetCount(3)
		_ = dp.Attributes().FromRaw(attrs)
	}
}

func metricNames(md pmetric.Metrics) map[string]pmetric.MetricType {
	names := map[string]pmetric.MetricType{}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		names[ms.At(i).Name()] = ms.At(i).Type()
	}
	return names
}

func TestMergeRules(t *testing.T) {
	cumulative, delta := pmetric.AggregationTemporalityCumulative, pmetric.AggregationTemporalityDelta
	kafka := map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders"}
	tests := []struct {
		name       string
		input      pmetric.Metrics
		want       map[string]pmetric.MetricType
		points     int // data points of messaging.client.operation.duration
		notRenamed notRenamedReason
	}{
		{
			name: "two operations merge into one metric",
			input: scopeWith(histogramMetric("messaging.publish.duration", false, cumulative, kafka),
				histogramMetric("messaging.receive.duration", false, cumulative, kafka)),
			want:       map[string]pmetric.MetricType{"messaging.client.operation.duration": pmetric.MetricTypeHistogram},
			points:     2,
			notRenamed: -1,
		},
		{
			name: "explicit and exponential histograms stay apart",
			input: scopeWith(histogramMetric("messaging.publish.duration", false, cumulative, kafka),
				histogramMetric("messaging.receive.duration", true, cumulative, kafka)),
			want: map[string]pmetric.MetricType{
				"messaging.client.operation.duration": pmetric.MetricTypeHistogram,
				"messaging.receive.duration":          pmetric.MetricTypeExponentialHistogram,
			},
			points:     1,
			notRenamed: reasonConflict,
		},
		{
			name: "different temporalities stay apart",
			input: scopeWith(histogramMetric("messaging.publish.duration", false, cumulative, kafka),
				histogramMetric("messaging.receive.duration", false, delta, kafka)),
			want: map[string]pmetric.MetricType{
				"messaging.client.operation.duration": pmetric.MetricTypeHistogram,
				"messaging.receive.duration":          pmetric.MetricTypeHistogram,
			},
			points:     1,
			notRenamed: reasonConflict,
		},
		{
			name: "the new name already in the scope",
			input: scopeWith(histogramMetric("messaging.publish.duration", false, cumulative, kafka),
				histogramMetric("messaging.client.operation.duration", true, cumulative, map[string]any{"messaging.system": "kafka", "messaging.operation.name": "send"})),
			want: map[string]pmetric.MetricType{
				"messaging.publish.duration":          pmetric.MetricTypeHistogram,
				"messaging.client.operation.duration": pmetric.MetricTypeExponentialHistogram,
			},
			points:     1,
			notRenamed: reasonTargetExists,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
			p, err := newSemconvProcessor(metadatatest.NewSettings(tel), &Config{Mode: ModeReplace})
			require.NoError(t, err)
			_, err = p.processMetrics(context.Background(), tt.input)
			require.NoError(t, err)
			assert.Equal(t, tt.want, metricNames(tt.input))

			ms := tt.input.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
			for i := 0; i < ms.Len(); i++ {
				m := ms.At(i)
				if m.Name() != "messaging.client.operation.duration" {
					continue
				}
				if m.Type() == pmetric.MetricTypeExponentialHistogram {
					assert.Equal(t, tt.points, m.ExponentialHistogram().DataPoints().Len())
				} else {
					assert.Equal(t, tt.points, m.Histogram().DataPoints().Len())
				}
			}
			if tt.notRenamed >= 0 {
				metadatatest.AssertEqualProcessorSemconvMetricsNotRenamed(t, tel, []metricdata.DataPoint[int64]{{
					Value: 1, Attributes: attribute.NewSet(attribute.String("reason", tt.notRenamed.String())),
				}}, metricdatatestIgnore...)
			}
		})
	}
}

func TestMergedPointsGetTheirOperation(t *testing.T) {
	kafka := map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders"}
	md := scopeWith(histogramMetric("messaging.publish.duration", false, pmetric.AggregationTemporalityCumulative, kafka),
		histogramMetric("messaging.receive.duration", false, pmetric.AggregationTemporalityCumulative, kafka))
	_, err := newTestProcessor(t, ModeReplace).processMetrics(context.Background(), md)
	require.NoError(t, err)
	dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints()
	require.Equal(t, 2, dps.Len())
	for i, op := range []string{"send", "receive"} {
		assert.Equal(t, map[string]any{
			"messaging.system": "kafka", "messaging.destination.name": "orders",
			"messaging.operation.name": op, "messaging.operation.type": op,
		}, dps.At(i).Attributes().AsRaw())
	}
	assert.Equal(t, "https://opentelemetry.io/schemas/1.44.0", md.ResourceMetrics().At(0).ScopeMetrics().At(0).SchemaUrl())
}

// TestNoTwoMetricsOfOneNameWithDifferentTypes checks the rule on every golden metric output.
func TestNoTwoMetricsOfOneNameWithDifferentTypes(t *testing.T) {
	outputs, err := filepath.Glob(filepath.Join("testdata", "metrics", "*", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, outputs)
	for _, f := range outputs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(b)
		require.NoError(t, err)
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			sms := md.ResourceMetrics().At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				seen := map[string]pmetric.MetricType{}
				for k := 0; k < sms.At(j).Metrics().Len(); k++ {
					m := sms.At(j).Metrics().At(k)
					if typ, ok := seen[m.Name()]; ok {
						assert.Equal(t, typ, m.Type(), "%s: %s twice with different types", f, m.Name())
					}
					seen[m.Name()] = m.Type()
				}
			}
		}
	}
}

func TestCurrentMetricsUntouched(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "metrics", "kafkajs_current", "input.json"))
	require.NoError(t, err)
	md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(b)
	require.NoError(t, err)
	want, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	p := newTestProcessor(t, ModeReplace)
	allocs := testing.AllocsPerRun(20, func() {
		_, _ = p.processMetrics(context.Background(), md)
	})
	assert.Zero(t, allocs)
	got, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

func TestMetricsTelemetry(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "metrics", "older_sdks", "input.json"))
	require.NoError(t, err)
	md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(b)
	require.NoError(t, err)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := newSemconvProcessor(metadatatest.NewSettings(tel), &Config{Mode: ModeReplace})
	require.NoError(t, err)
	_, err = p.processMetrics(context.Background(), md)
	require.NoError(t, err)

	// older_sdks: publish.duration + receive.duration (merged), publish.messages and
	// receive.messages (delta sum) renamed; client.published.messages (conflict), the gauge
	// receive.messages and receive.duration in ms (incompatible), publish.duration next to
	// client.operation.duration (target_exists) keep their names.
	metadatatest.AssertEqualProcessorSemconvMetricsRenamed(t, tel, []metricdata.DataPoint[int64]{{Value: 4}}, metricdatatestIgnore...)
	reason := func(r notRenamedReason, n int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(attribute.String("reason", r.String()))}
	}
	metadatatest.AssertEqualProcessorSemconvMetricsNotRenamed(t, tel, []metricdata.DataPoint[int64]{
		reason(reasonConflict, 1), reason(reasonIncompatible, 2), reason(reasonTargetExists, 1),
	}, metricdatatestIgnore...)
	metadatatest.AssertEqualProcessorSemconvDataPointsMigrated(t, tel, []metricdata.DataPoint[int64]{{Value: 4}}, metricdatatestIgnore...)
}
