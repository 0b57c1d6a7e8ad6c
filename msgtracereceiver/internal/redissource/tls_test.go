package redissource

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// tls: {insecure: true} is plaintext, as for Kafka (collector configtls):
// the tap reads the local plaintext server.
func TestTLSInsecureIsPlaintext(t *testing.T) {
	requireServer(t)
	c := producer(t)
	channel := sourcetest.Unique("tls")
	cfg := NewDefaultConfig()
	cfg.Endpoint = serverAddr
	cfg.TLS = &configtls.ClientConfig{Insecure: true}
	cfg.Channels = []string{channel}
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitTapping(t, "probe", func(id string) {
		require.NoError(t, c.Publish(channel, binary("message_id", id)("")))
	})
}

func TestValidateContradictoryTLS(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Channels = []string{"orders"}
	cfg.TLS = &configtls.ClientConfig{Insecure: true, ServerName: "redis.internal", Config: configtls.Config{CertFile: "c.pem", KeyFile: "k.pem"}}
	assert.ErrorContains(t, cfg.Validate(), "but cert_file, key_file, server_name_override only apply to TLS")
	cfg.TLS = &configtls.ClientConfig{Insecure: true}
	assert.NoError(t, cfg.Validate(), "insecure alone is plaintext")
}
