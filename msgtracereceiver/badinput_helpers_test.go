package msgtracereceiver

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadatatest"
)

// Helpers of the bad-input tests: a receiver whose logs (debug included)
// and own metrics the test can read.

// observedReceiver is a started receiver with everything it logged and the
// metrics it recorded.
type observedReceiver struct {
	tt   *componenttest.Telemetry
	logs *observer.ObservedLogs
}

// startObservedReceiver starts a receiver from the factory, logging at debug
// level into an observer; it is shut down when the test ends.
func startObservedReceiver(t *testing.T, cfg *Config, next consumer.Traces) *observedReceiver {
	t.Helper()
	require.NoError(t, cfg.Validate())
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.DebugLevel)
	set := metadatatest.NewSettings(tt)
	set.Logger = zap.New(core)
	r, err := NewFactory().CreateTraces(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			require.NoError(t, r.Shutdown(ctx))
		})
	})
	return &observedReceiver{tt: tt, logs: logs}
}

// faults returns otelcol_msgtrace_receiver_faults by system/kind.
func (o *observedReceiver) faults(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := o.tt.GetMetric("otelcol_msgtrace_receiver_faults")
	if err != nil { // not recorded yet: no fault
		return out
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "faults is an int64 sum")
	for _, dp := range sum.DataPoints {
		system, _ := dp.Attributes.Value("messaging.system")
		kind, _ := dp.Attributes.Value("kind")
		out[system.AsString()+"/"+kind.AsString()] += dp.Value
	}
	return out
}

// lines renders every log entry, message and fields, as JSON.
func (o *observedReceiver) lines(t *testing.T) []observedLine {
	t.Helper()
	enc := zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig())
	var out []observedLine
	for _, e := range o.logs.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		require.NoError(t, err)
		out = append(out, observedLine{level: e.Level, text: buf.String()})
		buf.Free()
	}
	return out
}

type observedLine struct {
	level zapcore.Level
	text  string
}

// assertNotLogged fails when a secret appears in any log line, at any level.
func (o *observedReceiver) assertNotLogged(t *testing.T, secrets ...string) {
	t.Helper()
	for _, l := range o.lines(t) {
		for _, s := range secrets {
			assert.NotContains(t, l.text, s, "a %s log line reveals a secret", l.level)
		}
	}
}

// debugLinesAbout counts the debug lines that name a message identity.
func (o *observedReceiver) debugLinesAbout(t *testing.T, identity string) int {
	t.Helper()
	n := 0
	quoted := strconv.Quote(identity)
	for _, l := range o.lines(t) {
		if l.level == zapcore.DebugLevel && strings.Contains(l.text, quoted) {
			n++
		}
	}
	return n
}
