// Package clienttls gives the `tls` block of every msgtrace source one
// meaning, the collector's configtls one (as for its Kafka and OTLP
// clients): no block is plaintext, a block dials TLS verified with its
// settings, and `insecure: true` is plaintext. A URL scheme that asks for
// TLS (amqps://, tls://) dials TLS without a block, with the system's CAs.
package clienttls // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/config/configtls"
)

// Enabled reports whether a source dials TLS with block cfg (nil: no
// block); schemeTLS tells that its endpoint's scheme asks for TLS.
func Enabled(cfg *configtls.ClientConfig, schemeTLS bool) bool {
	return schemeTLS || (cfg != nil && !cfg.Insecure)
}

// Load returns the TLS configuration to dial with, nil for plaintext.
// Validate must have accepted cfg.
func Load(ctx context.Context, cfg *configtls.ClientConfig, schemeTLS bool) (*tls.Config, error) {
	if !Enabled(cfg, schemeTLS) {
		return nil, nil
	}
	if cfg == nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}, nil
	}
	c, err := cfg.LoadTLSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return c, nil
}

// Validate explains a contradictory block: `insecure: true` (plaintext)
// together with settings that only mean something for TLS, or with an
// endpoint whose scheme asks for TLS (tlsScheme names it, e.g. "amqps://";
// empty when the endpoint does not ask for TLS).
func Validate(cfg *configtls.ClientConfig, tlsScheme string) error {
	if cfg == nil || !cfg.Insecure {
		return nil
	}
	var errs []error
	if set := tlsOnly(cfg); len(set) > 0 {
		errs = append(errs, fmt.Errorf("tls: insecure: true means plaintext (configtls semantics, as for Kafka), but %s only apply to TLS: remove insecure to dial TLS with them, or remove them for plaintext",
			strings.Join(set, ", ")))
	}
	if tlsScheme != "" {
		errs = append(errs, fmt.Errorf("tls: insecure: true means plaintext, but the %s endpoint asks for TLS: remove insecure, or use a plaintext endpoint", tlsScheme))
	}
	return errors.Join(errs...)
}

// tlsOnly names the settings of cfg that are set and mean something only
// when TLS is on.
func tlsOnly(cfg *configtls.ClientConfig) []string {
	var set []string
	for _, o := range []struct {
		name string
		on   bool
	}{
		{"ca_file", cfg.CAFile != ""},
		{"ca_pem", cfg.CAPem != ""},
		{"cert_file", cfg.CertFile != ""},
		{"cert_pem", cfg.CertPem != ""},
		{"key_file", cfg.KeyFile != ""},
		{"key_pem", cfg.KeyPem != ""},
		{"include_system_ca_certs_pool", cfg.IncludeSystemCACertsPool},
		{"insecure_skip_verify", cfg.InsecureSkipVerify},
		{"server_name_override", cfg.ServerName != ""},
	} {
		if o.on {
			set = append(set, o.name)
		}
	}
	return set
}
