package natssource

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// tls: {insecure: true} is plaintext, as for Kafka (collector configtls):
// the tap reads the local plaintext server.
func TestTLSInsecureIsPlaintext(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	subject := sourcetest.Unique("tls")
	cfg := NewDefaultConfig()
	cfg.Servers = []string{"nats://" + serverAddr}
	cfg.TLS = &configtls.ClientConfig{Insecure: true}
	cfg.Subjects = []string{subject}
	rec := &sourcetest.Recorder{}
	src := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitTapping(t, "probe", func(id string) {
		require.NoError(t, nc.PublishMsg(&nats.Msg{Subject: subject, Header: nats.Header{"message_id": {id}}}))
	})
}

func TestValidateContradictoryTLS(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Subjects = []string{"orders"}
	cfg.Servers = []string{"tls://nats:4222"}
	cfg.TLS = &configtls.ClientConfig{Insecure: true, InsecureSkipVerify: true}
	err := cfg.Validate()
	assert.ErrorContains(t, err, "but insecure_skip_verify only apply to TLS")
	assert.ErrorContains(t, err, "but the tls:// endpoint asks for TLS")

	cfg.Servers = []string{"nats://nats:4222"}
	cfg.TLS = &configtls.ClientConfig{Insecure: true}
	assert.NoError(t, cfg.Validate(), "insecure alone is plaintext")
}
