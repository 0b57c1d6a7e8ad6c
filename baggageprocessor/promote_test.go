package baggageprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadatatest"
)

// resourceWithSpans returns a ResourceSpans whose spans carry the given
// tenants ("" for a span without the key), across two scopes.
func resourceWithSpans(td ptrace.Traces, tenants ...string) ptrace.ResourceSpans {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders")
	for i, tenant := range tenants {
		if i%2 == 0 {
			rs.ScopeSpans().AppendEmpty()
		}
		span := rs.ScopeSpans().At(rs.ScopeSpans().Len() - 1).Spans().AppendEmpty()
		span.Attributes().PutStr("baggage.step", "1")
		if tenant != "" {
			span.Attributes().PutStr("baggage.tenant.id", tenant)
		}
	}
	return rs
}

func spansWith(rs ptrace.ResourceSpans, key string) int {
	n := 0
	for i := 0; i < rs.ScopeSpans().Len(); i++ {
		spans := rs.ScopeSpans().At(i).Spans()
		for j := 0; j < spans.Len(); j++ {
			if _, ok := spans.At(j).Attributes().Get(key); ok {
				n++
			}
		}
	}
	return n
}

func TestPromoteToResource(t *testing.T) {
	cfg := defaultConfig()
	cfg.PromoteToResource = []string{"tenant.id"}

	tests := []struct {
		name     string
		tenants  []string
		resource string // existing resource value, "" for none
		promoted bool
	}{
		{name: "every span agrees", tenants: []string{"acme", "acme", "acme"}, promoted: true},
		{name: "resource already says so", tenants: []string{"acme", "acme"}, resource: "acme", promoted: true},
		{name: "spans disagree", tenants: []string{"acme", "globex", "acme"}},
		{name: "a span lacks the key", tenants: []string{"acme", "", "acme"}},
		{name: "resource says otherwise", tenants: []string{"acme", "acme"}, resource: "globex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, tel := mustProcessorWithTelemetry(t, cfg)
			td := ptrace.NewTraces()
			rs := resourceWithSpans(td, tt.tenants...)
			if tt.resource != "" {
				rs.Resource().Attributes().PutStr("baggage.tenant.id", tt.resource)
			}
			carrying := spansWith(rs, "baggage.tenant.id")

			process(t, p, td)

			res, ok := rs.Resource().Attributes().Get("baggage.tenant.id")
			if tt.promoted {
				require.True(t, ok)
				assert.Equal(t, "acme", res.Str())
				assert.Zero(t, spansWith(rs, "baggage.tenant.id"), "moved, not copied")
				metadatatest.AssertEqualProcessorBaggagePromotions(t, tel, []metricdataDP{dp(1, "outcome", "promoted")}, ignoreTime()...)
			} else {
				assert.Equal(t, tt.resource != "", ok)
				if ok {
					assert.Equal(t, tt.resource, res.Str(), "an existing resource value is never overwritten")
				}
				assert.Equal(t, carrying, spansWith(rs, "baggage.tenant.id"), "spans keep their values")
				metadatatest.AssertEqualProcessorBaggagePromotions(t, tel, []metricdataDP{dp(1, "outcome", "conflict")}, ignoreTime()...)
			}
			assert.Equal(t, len(tt.tenants), spansWith(rs, "baggage.step"), "other keys stay on the spans")
		})
	}
}

func TestPromotePerResource(t *testing.T) {
	cfg := defaultConfig()
	cfg.PromoteToResource = []string{"tenant.id", "region"}
	p, tel := mustProcessorWithTelemetry(t, cfg)
	td := ptrace.NewTraces()
	acme := resourceWithSpans(td, "acme", "acme")
	mixed := resourceWithSpans(td, "acme", "globex")
	none := resourceWithSpans(td, "", "")

	process(t, p, td)

	assert.Equal(t, map[string]any{"service.name": "orders", "baggage.tenant.id": "acme"}, acme.Resource().Attributes().AsRaw())
	assert.Equal(t, map[string]any{"service.name": "orders"}, mixed.Resource().Attributes().AsRaw())
	assert.Equal(t, map[string]any{"service.name": "orders"}, none.Resource().Attributes().AsRaw())
	// region is carried by no span: neither promoted nor a conflict.
	metadatatest.AssertEqualProcessorBaggagePromotions(t, tel, []metricdataDP{
		dp(1, "outcome", "promoted"), dp(1, "outcome", "conflict"),
	}, ignoreTime()...)
}

func TestPromoteUsesMergedBatchBaggage(t *testing.T) {
	cfg := defaultConfig()
	cfg.PromoteToResource = []string{"tenant.id"}
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	receiverLinks(t, span, fastStreamBatch)

	process(t, p, td)

	res, ok := td.ResourceSpans().At(0).Resource().Attributes().Get("baggage.tenant.id")
	require.True(t, ok)
	assert.Equal(t, "acme", res.Str())
	_, ok = span.Attributes().Get("baggage.tenant.id")
	assert.False(t, ok)
	v, _ := span.Links().At(0).Attributes().Get("baggage.tenant.id")
	assert.Equal(t, pcommon.ValueTypeStr, v.Type(), "links keep their per-message baggage")
}
