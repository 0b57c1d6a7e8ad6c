package rabbitmqsource

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// tls: {insecure: true} is plaintext, as for Kafka (collector configtls):
// the tap reads the local plaintext broker.
func TestTLSInsecureIsPlaintext(t *testing.T) {
	requireBroker(t)
	sourcetest.EnableFirehose(t)
	p := newProducer(t)
	x := sourcetest.Unique("tls")
	require.NoError(t, p.ch.ExchangeDeclare(x, "topic", false, true, false, false, nil))
	t.Cleanup(func() { _ = p.ch.ExchangeDelete(x, false, false) })

	cfg := NewDefaultConfig()
	cfg.TLS = &configtls.ClientConfig{Insecure: true}
	cfg.Firehose.Exchanges = []string{x}
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitTapping(t, "probe", func(id string) { p.publish(t, x, "k", amqp.Publishing{MessageId: id}) })
}

func TestValidateContradictoryTLS(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint string
		tls            configtls.ClientConfig
		err            string
	}{
		{name: "insecure with a CA", endpoint: "amqp://rabbit:5672", tls: configtls.ClientConfig{Insecure: true, Config: configtls.Config{CAFile: "ca.pem"}},
			err: "tls: insecure: true means plaintext (configtls semantics, as for Kafka), but ca_file only apply to TLS"},
		{name: "insecure with amqps", endpoint: "amqps://rabbit:5671", tls: configtls.ClientConfig{Insecure: true},
			err: "tls: insecure: true means plaintext, but the amqps:// endpoint asks for TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			cfg.Endpoint, cfg.TLS = tc.endpoint, &tc.tls
			assert.ErrorContains(t, cfg.Validate(), tc.err)
		})
	}
	cfg := NewDefaultConfig()
	cfg.TLS = &configtls.ClientConfig{Insecure: true}
	assert.NoError(t, cfg.Validate(), "insecure alone is plaintext")
}
