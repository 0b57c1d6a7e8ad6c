package msgtracereceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/kafkasource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	defaultKafka := func(mutate func(*kafkasource.Config)) *kafkasource.Config {
		k := kafkasource.NewDefaultConfig()
		mutate(k)
		return k
	}
	withDefaults := func(mutate func(*Config)) *Config {
		c := createDefaultConfig().(*Config)
		mutate(c)
		return c
	}

	tests := []struct {
		id       component.ID
		expected *Config
		errs     []string // substrings of the Validate error; none means valid
	}{
		{
			id: component.NewID(metadata.Type),
			expected: withDefaults(func(c *Config) {
				c.Kafka = defaultKafka(func(k *kafkasource.Config) {
					k.Topics = []string{"orders", `^payments\..*`}
				})
			}),
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			expected: &Config{
				Spans: SpansConfig{
					Rebuild:     spanmodel.RebuildAlways,
					Receive:     spanmodel.ReceiveBatch,
					Correlation: spanmodel.CorrelationLink,
				},
				Sampling: SamplingConfig{Ratio: 0.25},
				RetryOnFailure: func() configretry.BackOffConfig {
					r := configretry.NewDefaultBackOffConfig()
					r.InitialInterval = 100 * time.Millisecond
					r.MaxInterval = 5 * time.Second
					r.MaxElapsedTime = 0
					r.Multiplier = 2
					r.RandomizationFactor = 0.1
					return r
				}(),
				Kafka: defaultKafka(func(k *kafkasource.Config) {
					k.Brokers = []string{"kafka-1:9093", "kafka-2:9093"}
					k.Topics = []string{"^orders(-.*)?$"}
					k.TopicRefreshInterval = 30 * time.Second
					k.GroupID = "gateway-tap"
					k.InitialOffset = kafkasource.OffsetEarliest
					k.ProtocolVersion = "3.7.0"
					k.ClientID = "gateway"
					k.IncludeMessageKey = true
					k.MaxBatchSize = 500
					k.SessionTimeout = 30 * time.Second
					k.HeartbeatInterval = 5 * time.Second
					k.CommitInterval = 2 * time.Second
					tls := configtls.NewDefaultClientConfig()
					tls.CAFile = "/etc/kafka/ca.pem"
					k.TLS = &tls
					k.Auth.SASL = &kafkasource.SASLConfig{
						Mechanism: kafkasource.MechanismScramSHA512,
						Username:  "tap",
						Password:  "secret",
					}
				}),
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "kafka_consumers"),
			expected: withDefaults(func(c *Config) {
				c.Kafka = defaultKafka(func(k *kafkasource.Config) {
					k.Topics = []string{"orders"}
					k.Consumers.Enabled = true
					k.Consumers.Groups = []string{"billing", "^shipping-"}
					k.Consumers.PollInterval = 2 * time.Second
					k.Consumers.Spans = consumers.SpansCommit
					k.Consumers.StuckAfter = 10 * time.Minute
					k.Consumers.MaxTrackedBytes = 32 << 20
				})
			}),
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_consumers"),
			errs: []string{
				"kafka::consumers: poll_interval must be positive, got 0s",
				`spans must be settle, commit or none, got "batch"`,
				"stuck_after must be positive, got -1s",
				"max_tracked_bytes must be at least 65536, got 1024",
				`groups[0] "^billing([": error parsing regexp`,
			},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "no_source"),
			errs: []string{"no source configured: set at least one of kafka"},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_spans"),
			errs: []string{
				`spans::rebuild must be "missing", "always" or "never", got "sometimes"`,
				`spans::receive must be "message" or "batch", got "stream"`,
				`spans::correlation must be "parent" or "link", got "child"`,
			},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "bad_ratio"),
			errs: []string{"sampling::ratio must be within [0, 1], got 1.5"},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_kafka"),
			errs: []string{
				"brokers: at least one broker is required",
				`topics: invalid regular expression "^orders(["`,
				"group_id must not be empty",
				`initial_offset must be "latest" or "earliest", got "newest"`,
				"protocol_version: invalid version `banana`",
				"max_batch_size must be at least 1, got 0",
			},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "no_topics"),
			errs: []string{"topics: at least one topic or ^regex is required"},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "bad_sasl"),
			errs: []string{`mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got "GSSAPI"`},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "sasl_no_password"),
			errs: []string{"password is required"},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "bad_retry"),
			errs: []string{"'randomization_factor' must be within [0, 1]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))

			err = confmap.Validate(cfg)
			if len(tt.errs) == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.expected, cfg)
				return
			}
			require.Error(t, err)
			for _, want := range tt.errs {
				// Once: the collector also validates nested blocks itself.
				assert.Equal(t, 1, strings.Count(err.Error(), want), "%q in %q", want, err)
			}
		})
	}
}

// A kafka block without brokers keeps the default broker, group and
// offsets: the defaults apply to a block as soon as it is present.
func TestKafkaBlockDefaults(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "bad_sasl").String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NotNil(t, cfg.Kafka)
	assert.Equal(t, []string{"localhost:9092"}, cfg.Kafka.Brokers)
	assert.Equal(t, kafkasource.DefaultGroupID, cfg.Kafka.GroupID)
	assert.Equal(t, kafkasource.OffsetLatest, cfg.Kafka.InitialOffset)
	assert.Equal(t, 1000, cfg.Kafka.MaxBatchSize)
}

func TestDefaultConfigHasNoSource(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Nil(t, cfg.Kafka)
	assert.ErrorContains(t, confmap.Validate(cfg), "no source configured")
}
