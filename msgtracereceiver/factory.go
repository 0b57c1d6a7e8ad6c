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
// The traces and metrics receivers of one component ID share one receiver
// (shared.go): the map belongs to the factory.
func NewFactory() receiver.Factory {
	shared := &sharedReceivers{}
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithTraces(shared.createTraces, metadata.TracesStability),
		receiver.WithMetrics(shared.createMetrics, metadata.MetricsStability))
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

func (s *sharedReceivers) createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	sr, err := s.get(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	sr.traces.next = next
	return sr, nil
}

// createMetrics wires the consumer metrics of the sources' `consumers`
// blocks (settle delay, lag, stuck) to a metrics pipeline.
func (s *sharedReceivers) createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	sr, err := s.get(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	sr.r.metricsOut.next = next
	return sr, nil
}
