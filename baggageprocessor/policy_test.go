package baggageprocessor

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadatatest"
)

func TestIncludeExclude(t *testing.T) {
	cfg := defaultConfig()
	cfg.Include = []string{"tenant.id", `^feature\.`}
	cfg.Exclude = []string{`^feature\.internal\.`, "feature.legacy"}
	p, tel := mustProcessorWithTelemetry(t, cfg)

	td := ptrace.NewTraces()
	span := newSpan(td)
	for _, k := range []string{"tenant.id", "user.id", "feature.dark_mode", "feature.internal.flag", "feature.legacy"} {
		span.Attributes().PutStr("baggage."+k, "1")
	}
	span.Attributes().PutStr("baggage", "feature.beta=1,session=2")
	receiverLinks(t, span, []string{"tenant.id=acme,user.id=42,feature.internal.x=1,feature.new=1"})

	process(t, p, td)

	assert.Equal(t, []kv{{"tenant.id", "1"}, {"feature.dark_mode", "1"}, {"feature.beta", "1"}, {"feature.new", "1"}},
		baggageAttrs(span.Attributes(), "baggage."))
	assert.Equal(t, []kv{{"tenant.id", "acme"}, {"feature.new", "1"}},
		baggageAttrs(span.Links().At(0).Attributes(), "baggage."), "the policy applies to the links too")
	metadatatest.AssertEqualProcessorBaggageEntriesDropped(t, tel, []metricdataDP{
		dp(3, "reason", "not_included"), // user.id twice, session
		dp(3, "reason", "excluded"),     // feature.internal.flag, feature.legacy, feature.internal.x
	}, ignoreTime()...)
}

// entries adds n entries "k<i>=v" to the span as attributes.
func entries(span ptrace.Span, n int) {
	for i := range n {
		span.Attributes().PutStr("baggage.k"+string(rune('a'+i)), "v")
	}
}

func TestMaxEntries(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxEntries = 3

	t.Run("at the bound", func(t *testing.T) {
		p, tel := mustProcessorWithTelemetry(t, cfg)
		td := ptrace.NewTraces()
		span := newSpan(td)
		entries(span, 3)
		process(t, p, td)
		assert.Equal(t, []kv{{"ka", "v"}, {"kb", "v"}, {"kc", "v"}}, baggageAttrs(span.Attributes(), "baggage."))
		_, err := tel.GetMetric("otelcol_processor_baggage_entries_dropped")
		assert.Error(t, err, "nothing dropped")
	})

	t.Run("over the bound: later entries go, the span's own first", func(t *testing.T) {
		p, tel := mustProcessorWithTelemetry(t, cfg)
		td := ptrace.NewTraces()
		span := newSpan(td)
		entries(span, 2)
		receiverLinks(t, span, []string{"x=1,y=2,z=3,w=4"})
		process(t, p, td)
		assert.Equal(t, []kv{{"ka", "v"}, {"kb", "v"}, {"x", "1"}}, baggageAttrs(span.Attributes(), "baggage."))
		assert.Equal(t, []kv{{"x", "1"}, {"y", "2"}, {"z", "3"}}, baggageAttrs(span.Links().At(0).Attributes(), "baggage."),
			"each link is bounded on its own")
		// w on the link; y and z on the span.
		metadatatest.AssertEqualProcessorBaggageEntriesDropped(t, tel, []metricdataDP{dp(3, "reason", "max_entries")}, ignoreTime()...)
	})

	t.Run("own attributes over the bound are removed", func(t *testing.T) {
		p := mustProcessor(t, cfg)
		td := ptrace.NewTraces()
		span := newSpan(td)
		entries(span, 5)
		process(t, p, td)
		assert.Equal(t, []kv{{"ka", "v"}, {"kb", "v"}, {"kc", "v"}}, baggageAttrs(span.Attributes(), "baggage."))
	})
}

func TestMaxValueBytes(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxValueBytes = 5
	p, tel := mustProcessorWithTelemetry(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage.at", "12345")
	span.Attributes().PutStr("baggage.over", "123456")
	span.Attributes().PutStr("baggage", "raw_at=abcde,raw_over=abcdef")
	receiverLinks(t, span, []string{"link_at=%C3%A9123,link_over=%C3%A91234"}) // é is 2 bytes

	process(t, p, td)

	assert.Equal(t, []kv{{"at", "12345"}, {"raw_at", "abcde"}, {"link_at", "é123"}}, baggageAttrs(span.Attributes(), "baggage."))
	assert.Equal(t, []kv{{"link_at", "é123"}}, baggageAttrs(span.Links().At(0).Attributes(), "baggage."))
	metadatatest.AssertEqualProcessorBaggageEntriesDropped(t, tel, []metricdataDP{dp(3, "reason", "value_too_long")}, ignoreTime()...)
}

func TestMaxTotalBytes(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxTotalBytes = 10 // len(key)+len(value) summed over the entries kept

	t.Run("at the bound", func(t *testing.T) {
		p := mustProcessor(t, cfg)
		td := ptrace.NewTraces()
		span := newSpan(td)
		span.Attributes().PutStr("baggage.a", "1234")
		span.Attributes().PutStr("baggage.b", "1234")
		process(t, p, td)
		assert.Equal(t, []kv{{"a", "1234"}, {"b", "1234"}}, baggageAttrs(span.Attributes(), "baggage."))
	})

	t.Run("over the bound: the crossing entry goes, a smaller later one may fit", func(t *testing.T) {
		p, tel := mustProcessorWithTelemetry(t, cfg)
		td := ptrace.NewTraces()
		span := newSpan(td)
		span.Attributes().PutStr("baggage.a", "12345678") // 9
		span.Attributes().PutStr("baggage.b", "1")        // 2: 11 > 10, dropped
		receiverLinks(t, span, []string{"c="})            // 1: fits
		process(t, p, td)
		assert.Equal(t, []kv{{"a", "12345678"}, {"c", ""}}, baggageAttrs(span.Attributes(), "baggage."))
		metadatatest.AssertEqualProcessorBaggageEntriesDropped(t, tel, []metricdataDP{dp(1, "reason", "max_total_bytes")}, ignoreTime()...)
	})

	t.Run("redacted values count with their hash", func(t *testing.T) {
		cfg := *cfg
		cfg.MaxTotalBytes = 70
		cfg.Redact = RedactConfig{Keys: []string{"u"}, Key: "0123456789abcdef0123456789abcdef"}
		p := mustProcessor(t, &cfg)
		td := ptrace.NewTraces()
		span := newSpan(td)
		span.Attributes().PutStr("baggage.u", "x")     // 1 + 64 after redaction
		span.Attributes().PutStr("baggage.k", "12345") // 6: 71 > 70
		span.Attributes().PutStr("baggage.e", "")      // 1: fits
		process(t, p, td)
		got := baggageAttrs(span.Attributes(), "baggage.")
		assert.Len(t, got, 2)
		assert.Equal(t, "u", got[0].k)
		assert.Equal(t, "e", got[1].k)
	})
}

func TestZeroLimitsMeanUnbounded(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxEntries, cfg.MaxValueBytes, cfg.MaxTotalBytes = 0, 0, 0
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	big := strings.Repeat("v", 10000)
	for i := range 300 {
		span.Links().AppendEmpty().Attributes().PutStr("baggage.k"+strings.Repeat("x", i), big)
	}

	process(t, p, td)

	assert.Len(t, baggageAttrs(span.Attributes(), "baggage."), 300)
}
