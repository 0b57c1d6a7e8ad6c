package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"fmt"

	"go.opentelemetry.io/collector/component"
)

// Mode says what happens to the old attributes of migrated telemetry.
type Mode string

const (
	// ModeReplace removes the old attributes once their values are under the new names.
	ModeReplace Mode = "replace"
	// ModeDuplicate keeps the old attributes (and old metrics) beside the new ones, as
	// OTEL_SEMCONV_STABILITY_OPT_IN=messaging/dup does in the SDKs. Single-valued fields (span
	// name, messaging.destination.name of RabbitMQ, the scope's schema_url) take the new value.
	ModeDuplicate Mode = "duplicate"
)

// Config is the configuration of the semconv processor.
type Config struct {
	// Mode is "replace" (default) or "duplicate".
	Mode Mode `mapstructure:"mode"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	switch cfg.Mode {
	case ModeReplace, ModeDuplicate:
		return nil
	default:
		return fmt.Errorf("mode: must be %q or %q, got %q", ModeReplace, ModeDuplicate, cfg.Mode)
	}
}
