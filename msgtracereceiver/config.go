package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/kafkasource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/natssource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/rabbitmqsource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/redissource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// Config is the configuration of the msgtrace receiver.
type Config struct {
	// Spans shapes the spans built for observed messages.
	Spans SpansConfig `mapstructure:"spans"`
	// Sampling applies to traces the receiver starts itself.
	Sampling SamplingConfig `mapstructure:"sampling"`
	// IncludeBaggage records each message's W3C baggage members as
	// baggage.<key> attributes (for the baggage processor's policy and batch
	// merge). Off by default, like Kafka message keys: baggage often carries
	// personal data (user IDs, e-mail addresses), and nothing from a message
	// that may be personal becomes an attribute unless asked for.
	IncludeBaggage bool `mapstructure:"include_baggage"`
	// RetryOnFailure is the backoff between attempts when the next consumer
	// refuses spans with a retryable error. Messages are not acknowledged
	// while their spans are retried.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// Sources: one block per broker; a nil block is not tapped.

	// Kafka taps Kafka topics through a consumer group of the receiver's own.
	Kafka *kafkasource.Config `mapstructure:"kafka"`
	// RabbitMQ taps the firehose or a bounded queue of the receiver's own.
	RabbitMQ *rabbitmqsource.Config `mapstructure:"rabbitmq"`
	// NATS taps core subjects and JetStream streams (ordered consumers).
	NATS *natssource.Config `mapstructure:"nats"`
	// Redis taps Pub/Sub channels and patterns, and Streams with XREAD.
	Redis *redissource.Config `mapstructure:"redis"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SpansConfig shapes the spans.
type SpansConfig struct {
	// Rebuild: missing (default), always or never.
	Rebuild spanmodel.Rebuild `mapstructure:"rebuild"`
	// Receive: message (default) or batch.
	Receive spanmodel.Receive `mapstructure:"receive"`
	// Correlation of per-message receive spans: parent (default) or link.
	Correlation spanmodel.Correlation `mapstructure:"correlation"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SamplingConfig configures sampling of the traces the receiver starts.
// Messages with a traceparent follow the producer's decision.
type SamplingConfig struct {
	// Ratio of rebuilt root traces kept, by trace ID, in [0, 1].
	Ratio float64 `mapstructure:"ratio"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Unmarshal applies a source's defaults when its block is present, so that
// `kafka: {topics: [orders]}` keeps the default brokers, group and offsets.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if conf.IsSet("kafka") && cfg.Kafka == nil {
		cfg.Kafka = kafkasource.NewDefaultConfig()
	}
	if conf.IsSet("rabbitmq") && cfg.RabbitMQ == nil {
		cfg.RabbitMQ = rabbitmqsource.NewDefaultConfig()
	}
	if conf.IsSet("nats") && cfg.NATS == nil {
		cfg.NATS = natssource.NewDefaultConfig()
	}
	if conf.IsSet("redis") && cfg.Redis == nil {
		cfg.Redis = redissource.NewDefaultConfig()
	}
	return conf.Unmarshal(cfg)
}

// Validate checks the receiver-wide settings; each source block and
// retry_on_failure are validated by their own Validate.
func (cfg *Config) Validate() error {
	var errs []error
	if err := cfg.Spans.Rebuild.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("spans::%w", err))
	}
	if err := cfg.Spans.Receive.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("spans::%w", err))
	}
	if err := cfg.Spans.Correlation.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("spans::%w", err))
	}
	if cfg.Sampling.Ratio < 0 || cfg.Sampling.Ratio > 1 {
		errs = append(errs, fmt.Errorf("sampling::ratio must be within [0, 1], got %v", cfg.Sampling.Ratio))
	}
	if !cfg.hasSource() {
		errs = append(errs, errors.New("no source configured: set at least one of "+sourceKeys))
	}
	return errors.Join(errs...)
}
