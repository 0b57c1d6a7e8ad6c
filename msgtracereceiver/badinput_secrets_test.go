package msgtracereceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/kafkasource"
)

// The whole receiver, built by its factory and logging at debug level, with
// SASL credentials (right and wrong) and baggage on every message: neither
// the password nor a baggage value appears in any log line.
func TestBadInputSecretsNotLogged(t *testing.T) {
	const password = "Pw-receiver-5d2b"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(testClusterID), kfake.SeedTopics(1, "secrets"),
		kfake.EnableSASL(), kfake.Superuser(kafkasource.MechanismScramSHA256, "tap", password))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	cl := producer(t, addrs, kgo.SASL(scram.Auth{User: "tap", Pass: password}.AsSha256Mechanism()))
	tp := traceparent.Format(badCtx)
	produce(t, cl,
		record("secrets", 0, "traceparent", tp, "baggage", "user.email="+bgSecret+"-alice%40example.com"),
		record("secrets", 0, "traceparent", tp[:50], "baggage", "k="+bgSecret+"-bad value,token="+bgSecret+"-tok"),
		record("secrets", 0, "baggage", "huge="+bgSecret+string(make([]byte, 9000))))

	sasl := func(pw string) *Config {
		cfg := kafkaConfig(addrs, "secrets")
		cfg.Kafka.Auth.SASL = &kafkasource.SASLConfig{Mechanism: kafkasource.MechanismScramSHA256, Username: "tap", Password: configopaque.String(pw), Version: 1}
		return cfg
	}

	wrong := startObservedReceiver(t, sasl("Wrong-pw-81f0"), new(consumertest.TracesSink))
	require.Eventually(t, func() bool { return wrong.logs.FilterMessage("kafka cluster unreachable, retrying").Len() > 0 }, waitFor, tick)

	sink := new(consumertest.TracesSink)
	right := startObservedReceiver(t, sasl(password), sink)
	require.Eventually(t, func() bool { return sink.SpanCount() == 5 }, waitFor, tick, "two messages rebuilt, one in the producer's trace")
	assert.Equal(t, map[string]int64{"kafka/traceparent": 1, "kafka/baggage": 2}, right.faults(t))

	for _, r := range []*observedReceiver{wrong, right} {
		r.assertNotLogged(t, password, "Wrong-pw-81f0", bgSecret)
	}
}
