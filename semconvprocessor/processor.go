package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

// semconvProcessor migrates messaging spans and metrics to semantic conventions 1.44.0. Its
// state is read-only after construction, so one instance serves concurrent batches.
type semconvProcessor struct {
	duplicate bool
	idx       *renames.Index
	schemaURL string
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	// notRenamed holds one pre-built attribute option per reason, so counting costs no allocation.
	notRenamed [numReasons]metric.AddOption
}

// notRenamedReason is why a deprecated metric kept its old name (the reason attribute of
// processor_semconv_metrics_not_renamed).
type notRenamedReason int

const (
	// reasonTargetExists: the scope already has a metric of the new name (an SDK emitting both).
	reasonTargetExists notRenamedReason = iota
	// reasonIncompatible: the metric's type or unit does not fit the new metric.
	reasonIncompatible
	// reasonConflict: another old metric took the new name and the two cannot be merged.
	reasonConflict
	numReasons
)

var reasonNames = [numReasons]string{"target_exists", "incompatible", "conflict"}

func (r notRenamedReason) String() string { return reasonNames[r] }

func newSemconvProcessor(set processor.Settings, cfg *Config) (*semconvProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("semconv processor telemetry: %w", err)
	}
	p := &semconvProcessor{
		duplicate: cfg.Mode == ModeDuplicate,
		idx:       renames.New(codeRenames(), cfg.RemovedAttributes != RemovedKeep),
		schemaURL: renames.SchemaURL(),
		logger:    set.Logger,
		telemetry: tb,
	}
	for r := range numReasons {
		p.notRenamed[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r.String())))
	}
	return p, nil
}

func (p *semconvProcessor) shutdown(context.Context) error {
	p.telemetry.Shutdown()
	return nil
}
