package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
)

// NewFactory returns the factory of the baggage processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Prefix: "baggage.",
		Sources: SourcesConfig{
			RawAttribute: "baggage",
			MetadataKey:  "baggage",
		},
		OnConflict:      ConflictLast,
		KeepLinkBaggage: true,
		// The W3C / OpenTelemetry SDK limits of one header: a span never
		// carries more baggage than one valid header could.
		MaxEntries:    baggage.DefaultLimits.MaxMembers,
		MaxValueBytes: baggage.DefaultLimits.MaxMemberBytes,
		MaxTotalBytes: baggage.DefaultLimits.MaxTotalBytes,
	}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newBaggageProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(p.shutdown))
}
