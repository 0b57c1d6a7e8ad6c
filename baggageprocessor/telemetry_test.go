package baggageprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadatatest"
)

type metricdataDP = metricdata.DataPoint[int64]

// dp is a data point with one attribute, or none when key is empty.
func dp(value int64, key, val string) metricdataDP {
	p := metricdataDP{Value: value}
	if key != "" {
		p.Attributes = attribute.NewSet(attribute.String(key, val))
	}
	return p
}

func ignoreTime() []metricdatatest.Option {
	return []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
}

// TestTelemetryAndLogs checks the counters of a request that hits every rule,
// and that neither the HMAC key nor any baggage value reaches the logs.
func TestTelemetryAndLogs(t *testing.T) {
	const secret = "0123456789abcdef-secret-hmac-key"
	cfg := defaultConfig()
	cfg.Exclude = []string{"^internal\\."}
	cfg.Include = []string{"tenant.id", "user.id", "step", "^internal\\."}
	cfg.Redact = RedactConfig{Keys: []string{"user.id"}, Key: secret}
	cfg.MaxValueBytes = 8
	cfg.PromoteToResource = []string{"tenant.id"}

	core, logs := observer.New(zapcore.DebugLevel)
	p, tel := mustProcessorWithTelemetry(t, cfg)
	p.telemetry.logger = zap.New(core)

	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage", "user.id=alice,bad,other=1,step=way-too-long-value")
	receiverLinks(t, span, []string{"tenant.id=acme,internal.debug=1,with_batch=True", "tenant.id=acme,user.id=bob"})
	other := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	other.Attributes().PutStr("baggage.tenant.id", "globex")
	process(t, p, td)

	metadatatest.AssertEqualProcessorBaggageFaults(t, tel, []metricdataDP{dp(1, "fault", "malformed")}, ignoreTime()...)
	metadatatest.AssertEqualProcessorBaggageEntriesDropped(t, tel, []metricdataDP{
		dp(1, "reason", "not_included"),
		dp(1, "reason", "value_too_long"),
		dp(1, "reason", "excluded"),
		dp(1, "reason", "batch_marker"),
	}, ignoreTime()...)
	metadatatest.AssertEqualProcessorBaggageEntriesRedacted(t, tel, []metricdataDP{dp(2, "", "")}, ignoreTime()...)
	metadatatest.AssertEqualProcessorBaggageBatchSpans(t, tel, []metricdataDP{dp(1, "", "")}, ignoreTime()...)
	metadatatest.AssertEqualProcessorBaggagePromotions(t, tel, []metricdataDP{dp(1, "outcome", "conflict")}, ignoreTime()...)

	assert.NotZero(t, logs.Len(), "faults and promotion conflicts are logged at debug")
	for _, e := range logs.All() {
		text := e.Message
		for _, f := range e.Context {
			text += " " + f.Key + "=" + f.String
		}
		for _, leak := range []string{secret, "alice", "bob", "acme", "globex"} {
			assert.NotContains(t, text, leak)
		}
	}
}
