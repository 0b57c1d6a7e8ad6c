package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"errors"
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

// RemovedAttributes says what happens to messaging attributes that semconv removed without a
// deprecation entry (messaging.destination.kind, messaging.url, ...).
type RemovedAttributes string

const (
	// RemovedDrop drops them from migrated telemetry, in both modes: they have no 1.44 name, and
	// telemetry stamped with the 1.44 schema URL must not carry them.
	RemovedDrop RemovedAttributes = "drop"
	// RemovedKeep leaves them as they are.
	RemovedKeep RemovedAttributes = "keep"
)

// Config is the configuration of the semconv processor.
type Config struct {
	// Mode is "replace" (default) or "duplicate".
	Mode Mode `mapstructure:"mode"`
	// RemovedAttributes is "drop" (default) or "keep".
	RemovedAttributes RemovedAttributes `mapstructure:"removed_attributes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration and reports every invalid option.
func (cfg *Config) Validate() error {
	var errs []error
	switch cfg.Mode {
	case ModeReplace, ModeDuplicate:
	default:
		errs = append(errs, fmt.Errorf("mode: must be %q or %q, got %q", ModeReplace, ModeDuplicate, cfg.Mode))
	}
	switch cfg.RemovedAttributes {
	case RemovedDrop, RemovedKeep:
	default:
		errs = append(errs, fmt.Errorf("removed_attributes: must be %q or %q, got %q", RemovedDrop, RemovedKeep, cfg.RemovedAttributes))
	}
	return errors.Join(errs...)
}
