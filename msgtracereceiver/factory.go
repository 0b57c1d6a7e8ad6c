package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// NewFactory returns the factory of the msgtrace receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = time.Second
	// Retry until the spans are accepted or the collector stops: messages
	// stay unacknowledged meanwhile, so nothing is lost (at least once).
	retry.MaxElapsedTime = 0
	return &Config{
		Spans: SpansConfig{
			Rebuild:     spanmodel.RebuildMissing,
			Receive:     spanmodel.ReceiveMessage,
			Correlation: spanmodel.CorrelationParent,
		},
		Sampling:       SamplingConfig{Ratio: 1},
		RetryOnFailure: retry,
	}
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	return newReceiver(set, cfg.(*Config), next)
}
