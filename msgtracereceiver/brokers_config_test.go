package msgtracereceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/natssource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/rabbitmqsource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/redissource"
)

// The RabbitMQ, NATS and Redis variants of testdata/config.yaml.
func TestLoadBrokerConfigs(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	withDefaults := func(mutate func(*Config)) *Config {
		c := createDefaultConfig().(*Config)
		mutate(c)
		return c
	}
	tlsWith := func(mutate func(*configtls.ClientConfig)) *configtls.ClientConfig {
		c := configtls.NewDefaultClientConfig()
		mutate(&c)
		return &c
	}

	tests := []struct {
		name     string
		expected *Config
		errs     []string
	}{
		{
			name: "rabbitmq",
			expected: withDefaults(func(c *Config) {
				c.RabbitMQ = rabbitmqsource.NewDefaultConfig()
				c.RabbitMQ.Endpoint = "amqp://rabbitmq:5672"
			}),
		},
		{
			name: "rabbitmq_full",
			expected: withDefaults(func(c *Config) {
				r := rabbitmqsource.NewDefaultConfig()
				r.Endpoint = "amqps://rabbitmq.internal:5671"
				r.VHost = "orders"
				r.Username = "tap"
				r.Password = "secret"
				r.TLS = tlsWith(func(c *configtls.ClientConfig) { c.CAFile = "/etc/rabbitmq/ca.pem" })
				r.Mode = rabbitmqsource.ModeQueue
				r.Bindings = []rabbitmqsource.BindingConfig{
					{Exchange: "orders", RoutingKey: "eu.#"},
					{Exchange: "billing", Arguments: map[string]any{"x-match": "any"}},
				}
				r.Queue = rabbitmqsource.QueueConfig{Name: "otelcol-msgtrace", MaxLength: 5000, Expires: 10 * time.Minute}
				r.Prefetch = 100
				r.ConnectTimeout = 3 * time.Second
				r.Reconnect = rabbitmqsource.ReconnectConfig{InitialInterval: 500 * time.Millisecond, MaxInterval: 10 * time.Second}
				c.RabbitMQ = r
			}),
		},
		{
			name: "rabbitmq_firehose",
			expected: withDefaults(func(c *Config) {
				r := rabbitmqsource.NewDefaultConfig()
				r.Firehose = rabbitmqsource.FirehoseConfig{
					Events:    []string{rabbitmqsource.EventPublish, rabbitmqsource.EventDeliver},
					Exchanges: []string{"orders", "amq.default"},
					Queues:    []string{"billing"},
				}
				c.RabbitMQ = r
			}),
		},
		{
			name: "rabbitmq_consumers",
			expected: withDefaults(func(c *Config) {
				r := rabbitmqsource.NewDefaultConfig()
				r.Firehose.Events = []string{rabbitmqsource.EventPublish, rabbitmqsource.EventDeliver}
				r.Firehose.Queues = []string{"billing", "shipping"}
				r.Consumers.Enabled = true
				r.Consumers.Groups = []string{"billing"}
				r.Consumers.PollInterval = 500 * time.Millisecond
				r.Consumers.Spans = consumers.SpansSettle
				r.Consumers.StuckAfter = time.Minute
				r.Consumers.MaxTrackedBytes = 1 << 20
				c.RabbitMQ = r
			}),
		},
		{
			name: "bad_rabbitmq_consumers",
			errs: []string{"consumers::enabled needs mode firehose with deliver in firehose::events"},
		},
		{
			name: "bad_rabbitmq",
			errs: []string{
				"endpoint must not carry credentials",
				`mode "mirror"`,
				"queue.max_length must be positive",
				"prefetch 0",
			},
		},
		{
			name: "nats",
			expected: withDefaults(func(c *Config) {
				c.NATS = natssource.NewDefaultConfig()
				c.NATS.Subjects = []string{"orders.>"}
			}),
		},
		{
			name: "nats_full",
			expected: withDefaults(func(c *Config) {
				n := natssource.NewDefaultConfig()
				n.Servers = []string{"tls://nats-1:4222", "tls://nats-2:4222"}
				n.Token = "secret"
				n.TLS = tlsWith(func(c *configtls.ClientConfig) { c.CAFile = "/etc/nats/ca.pem" })
				n.Subjects = []string{"orders.>", "billing.*.created"}
				n.QueueGroup = "otelcol-msgtrace"
				n.JetStream = natssource.JetStreamConfig{
					Domain: "hub",
					Streams: []natssource.StreamConfig{
						{
							Name: "ORDERS", FilterSubjects: []string{"orders.eu.>"}, DeliverPolicy: natssource.DeliverAll,
							Durable: "otelcol-msgtrace", AckWait: 10 * time.Second, InactiveThreshold: 24 * time.Hour,
						},
						{Name: "AUDIT", DeliverPolicy: natssource.DeliverByStartTime, StartTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
					},
				}
				n.MaxBatchSize = 100
				n.PendingLimit = 10000
				n.PendingBytesLimit = 16 << 20
				n.ConnectTimeout = 2 * time.Second
				n.Reconnect = natssource.ReconnectConfig{InitialInterval: 200 * time.Millisecond, MaxInterval: 5 * time.Second}
				n.Consumers.Enabled = true
				n.Consumers.Groups = []string{"billing", "^shipping-"}
				n.Consumers.PollInterval = 2 * time.Second
				n.Consumers.Spans = consumers.SpansCommit
				n.Consumers.StuckAfter = 10 * time.Minute
				n.Consumers.MaxTrackedBytes = 8 << 20
				c.NATS = n
			}),
		},
		{
			name: "bad_nats",
			errs: []string{
				`servers: scheme "http"`,
				`subjects: "orders.>.eu": '>' must be the last token`,
				`deliver_policy "oldest"`,
			},
		},
		{
			name: "bad_nats_consumers",
			errs: []string{
				"consumers::enabled needs jetstream::streams",
				"poll_interval must be positive",
			},
		},
		{
			name: "redis",
			expected: withDefaults(func(c *Config) {
				c.Redis = redissource.NewDefaultConfig()
				c.Redis.Channels = []string{"orders"}
			}),
		},
		{
			name: "redis_full",
			expected: withDefaults(func(c *Config) {
				r := redissource.NewDefaultConfig()
				r.Endpoint = "redis.internal:6380"
				r.Username = "tap"
				r.Password = "secret"
				r.DB = 2
				r.TLS = tlsWith(func(c *configtls.ClientConfig) { c.InsecureSkipVerify = true })
				r.Channels = []string{"orders", "billing"}
				r.Patterns = []string{"events:*"}
				r.Streams = []redissource.StreamConfig{{Name: "orders-stream"}, {Name: "audit", StartID: redissource.StartAll}}
				r.Group = redissource.GroupConfig{Name: "otelcol-msgtrace", Consumer: "replica-1", ClaimIdle: time.Minute}
				r.MaxBatchSize = 64
				r.Block = 2 * time.Second
				r.MaxBulkBytes, r.MaxReplyElements = 8<<20, 65536
				r.ConnectTimeout = time.Second
				r.Reconnect = redissource.ReconnectConfig{InitialInterval: 100 * time.Millisecond, MaxInterval: 3 * time.Second}
				c.Redis = r
			}),
		},
		{
			name: "redis_consumers",
			expected: withDefaults(func(c *Config) {
				r := redissource.NewDefaultConfig()
				r.Streams = []redissource.StreamConfig{{Name: "orders-stream"}}
				r.Consumers.Enabled = true
				r.Consumers.Groups = []string{"^billing"}
				r.Consumers.PollInterval = 5 * time.Second
				r.Consumers.Spans = consumers.SpansNone
				r.Consumers.StuckAfter = 30 * time.Second
				c.Redis = r
			}),
		},
		{
			name: "bad_redis_consumers",
			errs: []string{"consumers::enabled needs streams"},
		},
		{
			name: "bad_redis",
			errs: []string{`endpoint "redis": want host:port`, `start_id ">"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
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
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), "secret", "errors never repeat credentials")
		})
	}
}

// Each broker block alone is a source: the receiver needs no other.
func TestBrokerBlocksAreSources(t *testing.T) {
	for name, set := range map[string]func(*Config){
		"rabbitmq": func(c *Config) { c.RabbitMQ = rabbitmqsource.NewDefaultConfig() },
		"nats": func(c *Config) {
			c.NATS = natssource.NewDefaultConfig()
			c.NATS.Subjects = []string{">"}
		},
		"redis": func(c *Config) {
			c.Redis = redissource.NewDefaultConfig()
			c.Redis.Channels = []string{"c"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			set(cfg)
			require.NoError(t, confmap.Validate(cfg))
			srcs, err := newSources(cfg, func(string) (message.Settings, error) { return message.Settings{}, nil })
			require.NoError(t, err)
			assert.Len(t, srcs, 1)
		})
	}
}
