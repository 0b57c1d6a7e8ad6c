package msgtracereceiver

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
)

// Baggage is opt-in, like message keys: by default no baggage member
// becomes an attribute; include_baggage: true records them.
func TestBaggageOptIn(t *testing.T) {
	for _, include := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "include_baggage"}[include], func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(testClusterID), kfake.SeedTopics(1, "orders"))
			require.NoError(t, err)
			t.Cleanup(c.Close)
			cfg := kafkaConfig(c.ListenAddrs(), "orders")
			cfg.IncludeBaggage = include
			if !include {
				assert.False(t, createDefaultConfig().(*Config).IncludeBaggage, "off by default")
			}
			sink := new(consumertest.TracesSink)
			startReceiver(t, cfg, sink)
			produce(t, producer(t, c.ListenAddrs()), record("orders", 0,
				"traceparent", traceparent.Format(producerContext(0, true)), "baggage", "user.id=u-42,tenant=acme"))
			require.Eventually(t, func() bool { return sink.SpanCount() == 1 }, waitFor, tick)
			got := map[string]string{}
			for _, s := range allSpans(sink) {
				s.Attributes().Range(func(k string, v pcommon.Value) bool {
					if strings.HasPrefix(k, "baggage.") {
						got[k] = v.Str()
					}
					return true
				})
			}
			if include {
				assert.Equal(t, map[string]string{"baggage.user.id": "u-42", "baggage.tenant": "acme"}, got)
			} else {
				assert.Empty(t, got, "baggage recorded without include_baggage")
			}
		})
	}
}
