package kafkasource

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/config/configtls"
)

// max_batch_size sizes sarama's per-partition buffer of whole records: it
// has an upper bound.
func TestValidateMaxBatchSizeUpperBound(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Brokers, cfg.Topics = []string{"kafka:9092"}, []string{"orders"}
	cfg.MaxBatchSize = MaxBatchSizeLimit
	assert.NoError(t, cfg.Validate())
	cfg.MaxBatchSize = 1_000_000
	assert.ErrorContains(t, cfg.Validate(), "max_batch_size must be at most 10000, got 1000000")
}

// tls: insecure: true is plaintext (configtls); with a CA it contradicts itself.
func TestValidateContradictoryTLS(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Brokers, cfg.Topics = []string{"kafka:9092"}, []string{"orders"}
	cfg.TLS = &configtls.ClientConfig{Insecure: true, Config: configtls.Config{CAFile: "ca.pem"}}
	assert.ErrorContains(t, cfg.Validate(), "but ca_file only apply to TLS")
}
