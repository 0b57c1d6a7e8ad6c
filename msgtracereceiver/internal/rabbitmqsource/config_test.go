package rabbitmqsource

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "default", mutate: func(*Config) {}},
		{
			name: "queue mode with a binding",
			mutate: func(c *Config) {
				c.Mode = ModeQueue
				c.Bindings = []BindingConfig{{Exchange: "orders", RoutingKey: "#"}}
			},
		},
		{
			name: "named queue",
			mutate: func(c *Config) {
				c.Queue.Name = "otelcol-msg-tap"
			},
		},
		{
			name:    "credentials in the endpoint",
			mutate:  func(c *Config) { c.Endpoint = "amqp://guest:secret@127.0.0.1:5672" },
			wantErr: "endpoint must not carry credentials",
		},
		{
			name:    "wrong scheme",
			mutate:  func(c *Config) { c.Endpoint = "http://127.0.0.1:5672" },
			wantErr: `endpoint scheme "http"`,
		},
		{
			name:    "vhost in the endpoint",
			mutate:  func(c *Config) { c.Endpoint = "amqp://127.0.0.1:5672/prod" },
			wantErr: "set vhost instead",
		},
		{
			name:    "no host",
			mutate:  func(c *Config) { c.Endpoint = "amqp://:5672" },
			wantErr: "endpoint has no host",
		},
		{
			name:    "empty vhost",
			mutate:  func(c *Config) { c.VHost = "" },
			wantErr: "vhost must not be empty",
		},
		{
			name:    "password without username",
			mutate:  func(c *Config) { c.Password = "x" },
			wantErr: "password is set but username is empty",
		},
		{
			name:    "unknown mode",
			mutate:  func(c *Config) { c.Mode = "mirror" },
			wantErr: `mode "mirror"`,
		},
		{
			name:    "unknown event",
			mutate:  func(c *Config) { c.Firehose.Events = []string{"publish", "ack"} },
			wantErr: `unknown event "ack"`,
		},
		{
			name:    "no events",
			mutate:  func(c *Config) { c.Firehose.Events = nil },
			wantErr: "firehose.events must name",
		},
		{
			name:    "queues filter without deliver",
			mutate:  func(c *Config) { c.Firehose.Queues = []string{"q"} },
			wantErr: "firehose.queues filters deliver events",
		},
		{
			name:    "bindings in firehose mode",
			mutate:  func(c *Config) { c.Bindings = []BindingConfig{{Exchange: "x"}} },
			wantErr: "bindings apply to mode queue only",
		},
		{
			name:    "queue mode without bindings",
			mutate:  func(c *Config) { c.Mode = ModeQueue },
			wantErr: "at least one entry in bindings",
		},
		{
			name: "binding to the default exchange",
			mutate: func(c *Config) {
				c.Mode = ModeQueue
				c.Bindings = []BindingConfig{{Exchange: ""}}
			},
			wantErr: "default exchange cannot be bound",
		},
		{
			name:    "unbounded queue",
			mutate:  func(c *Config) { c.Queue.MaxLength = 0 },
			wantErr: "queue.max_length must be positive",
		},
		{
			name: "named queue that never expires",
			mutate: func(c *Config) {
				c.Queue.Name = "tap"
				c.Queue.Expires = 0
			},
			wantErr: "queue.expires must be at least 1s",
		},
		{
			name:    "prefetch out of range",
			mutate:  func(c *Config) { c.Prefetch = 70000 },
			wantErr: "prefetch 70000",
		},
		{
			name:    "no connect timeout",
			mutate:  func(c *Config) { c.ConnectTimeout = 0 },
			wantErr: "connect_timeout must be positive",
		},
		{
			name:    "backoff upside down",
			mutate:  func(c *Config) { c.Reconnect.MaxInterval = time.Millisecond },
			wantErr: "max_interval at least initial_interval",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			tt.mutate(cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "secret", "errors never repeat credentials")
		})
	}
}

func TestBindings(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		want []BindingConfig
	}{
		{
			name: "default: every publish",
			cfg:  func(*Config) {},
			want: []BindingConfig{{Exchange: traceExchange, RoutingKey: "publish.#"}},
		},
		{
			name: "publish and deliver, filtered",
			cfg: func(c *Config) {
				c.Firehose.Events = []string{EventPublish, EventDeliver}
				c.Firehose.Exchanges = []string{"orders", defaultExchange}
				c.Firehose.Queues = []string{"billing"}
			},
			want: []BindingConfig{
				{Exchange: traceExchange, RoutingKey: "publish.orders"},
				{Exchange: traceExchange, RoutingKey: "publish."},
				{Exchange: traceExchange, RoutingKey: "deliver.billing"},
			},
		},
		{
			name: "queue mode",
			cfg: func(c *Config) {
				c.Mode = ModeQueue
				c.Bindings = []BindingConfig{{Exchange: "orders", RoutingKey: "eu.#"}}
			},
			want: []BindingConfig{{Exchange: "orders", RoutingKey: "eu.#"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			tt.cfg(cfg)
			s := &source{cfg: cfg}
			assert.Equal(t, tt.want, s.bindings())
		})
	}
}
