package natssource

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "core subjects", mutate: func(c *Config) { c.Subjects = []string{"orders.>", "billing.*.created"} }},
		{
			name: "streams",
			mutate: func(c *Config) {
				c.JetStream.Streams = []StreamConfig{
					{Name: "ORDERS"},
					{Name: "AUDIT", FilterSubjects: []string{"audit.eu.>"}, DeliverPolicy: DeliverByStartTime, StartTime: start},
				}
			},
		},
		{name: "nothing to observe", mutate: func(*Config) {}, wantErr: "nothing to observe"},
		{
			name:    "no servers",
			mutate:  func(c *Config) { c.Subjects = []string{"a"}; c.Servers = nil },
			wantErr: "at least one NATS URL",
		},
		{
			name:    "credentials in a URL",
			mutate:  func(c *Config) { c.Subjects = []string{"a"}; c.Servers = []string{"nats://u:secret@h:4222"} },
			wantErr: "must not carry credentials",
		},
		{
			name:    "wrong scheme",
			mutate:  func(c *Config) { c.Subjects = []string{"a"}; c.Servers = []string{"http://h:4222"} },
			wantErr: `scheme "http"`,
		},
		{
			name: "two kinds of credentials",
			mutate: func(c *Config) {
				c.Subjects = []string{"a"}
				c.Username, c.Password, c.Token = "u", "secret", "secret"
			},
			wantErr: "set only one of",
		},
		{
			name:    "password without username",
			mutate:  func(c *Config) { c.Subjects = []string{"a"}; c.Password = "secret" },
			wantErr: "password is set but username is empty",
		},
		{name: "empty token", mutate: func(c *Config) { c.Subjects = []string{"a.."} }, wantErr: "empty token"},
		{name: "> not last", mutate: func(c *Config) { c.Subjects = []string{"a.>.b"} }, wantErr: "'>' must be the last token"},
		{name: "partial wildcard", mutate: func(c *Config) { c.Subjects = []string{"a.b*"} }, wantErr: "whole tokens"},
		{name: "blank in subject", mutate: func(c *Config) { c.Subjects = []string{"a b"} }, wantErr: "contains blanks"},
		{
			name:    "bad stream name",
			mutate:  func(c *Config) { c.JetStream.Streams = []StreamConfig{{Name: "a.b"}} },
			wantErr: `jetstream.streams[0]: name "a.b"`,
		},
		{
			name:    "stream twice",
			mutate:  func(c *Config) { c.JetStream.Streams = []StreamConfig{{Name: "S"}, {Name: "S"}} },
			wantErr: `stream "S" is listed twice`,
		},
		{
			name:    "unknown deliver policy",
			mutate:  func(c *Config) { c.JetStream.Streams = []StreamConfig{{Name: "S", DeliverPolicy: "oldest"}} },
			wantErr: `deliver_policy "oldest"`,
		},
		{
			name:    "by_start_time without start_time",
			mutate:  func(c *Config) { c.JetStream.Streams = []StreamConfig{{Name: "S", DeliverPolicy: DeliverByStartTime}} },
			wantErr: "needs start_time",
		},
		{
			name:    "start_time without by_start_time",
			mutate:  func(c *Config) { c.JetStream.Streams = []StreamConfig{{Name: "S", StartTime: start}} },
			wantErr: "start_time applies to deliver_policy by_start_time only",
		},
		{
			name:    "bad filter subject",
			mutate:  func(c *Config) { c.JetStream.Streams = []StreamConfig{{Name: "S", FilterSubjects: []string{""}}} },
			wantErr: "filter_subjects: empty subject",
		},
		{
			name:    "batch larger than pending",
			mutate:  func(c *Config) { c.Subjects = []string{"a"}; c.MaxBatchSize = 10; c.PendingLimit = 5 },
			wantErr: "pending_limit (5) must be at least max_batch_size (10)",
		},
		{
			name: "consumers on streams",
			mutate: func(c *Config) {
				c.Subjects = []string{"a"}
				c.JetStream.Streams = []StreamConfig{{Name: "S"}}
				c.Consumers.Enabled = true
			},
		},
		{
			name:    "consumers on core subjects only",
			mutate:  func(c *Config) { c.Subjects = []string{"a"}; c.Consumers.Enabled = true },
			wantErr: "consumers::enabled needs jetstream::streams: core subjects have no consumers to watch",
		},
		{
			name:    "backoff upside down",
			mutate:  func(c *Config) { c.Subjects = []string{"a"}; c.Reconnect.MaxInterval = time.Millisecond },
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

// The consumers block is validated by the collector as a nested config
// (consumers::...); its defaults are valid and watching is off.
func TestConsumersConfigDefaults(t *testing.T) {
	cfg := NewDefaultConfig()
	assert.False(t, cfg.Consumers.Enabled)
	require.NoError(t, cfg.Consumers.Validate())
	cfg.Consumers.PollInterval = 0
	require.ErrorContains(t, cfg.Consumers.Validate(), "poll_interval must be positive")
}

func TestOrderedConfig(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   StreamConfig
		want jetstream.DeliverPolicy
	}{
		{StreamConfig{Name: "S"}, jetstream.DeliverNewPolicy},
		{StreamConfig{Name: "S", DeliverPolicy: DeliverNew}, jetstream.DeliverNewPolicy},
		{StreamConfig{Name: "S", DeliverPolicy: DeliverAll}, jetstream.DeliverAllPolicy},
		{StreamConfig{Name: "S", DeliverPolicy: DeliverLast}, jetstream.DeliverLastPolicy},
		{StreamConfig{Name: "S", DeliverPolicy: DeliverByStartTime, StartTime: start}, jetstream.DeliverByStartTimePolicy},
	}
	for _, tt := range tests {
		got := orderedConfig(tt.in)
		assert.Equal(t, tt.want, got.DeliverPolicy, tt.in.DeliverPolicy)
		if tt.want == jetstream.DeliverByStartTimePolicy {
			require.NotNil(t, got.OptStartTime)
			assert.Equal(t, start, *got.OptStartTime)
		} else {
			assert.Nil(t, got.OptStartTime)
		}
	}
}
