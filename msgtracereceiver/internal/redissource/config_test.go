package redissource

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
		{name: "channels", mutate: func(c *Config) { c.Channels = []string{"orders"} }},
		{name: "patterns", mutate: func(c *Config) { c.Patterns = []string{"orders:*"} }},
		{
			name: "streams with start IDs",
			mutate: func(c *Config) {
				c.Streams = []StreamConfig{{Name: "a"}, {Name: "b", StartID: StartAll}, {Name: "c", StartID: "1700000000000-3"}, {Name: "d", StartID: "1700000000000"}}
			},
		},
		{name: "nothing to observe", mutate: func(*Config) {}, wantErr: "nothing to observe"},
		{
			name:    "endpoint without port",
			mutate:  func(c *Config) { c.Channels = []string{"a"}; c.Endpoint = "localhost" },
			wantErr: `endpoint "localhost": want host:port`,
		},
		{
			name:    "negative db",
			mutate:  func(c *Config) { c.Channels = []string{"a"}; c.DB = -1 },
			wantErr: "db must not be negative",
		},
		{name: "empty channel", mutate: func(c *Config) { c.Channels = []string{""} }, wantErr: "channels: empty channel name"},
		{name: "empty pattern", mutate: func(c *Config) { c.Patterns = []string{""} }, wantErr: "patterns: empty pattern"},
		{
			name:    "stream without a name",
			mutate:  func(c *Config) { c.Streams = []StreamConfig{{StartID: "$"}} },
			wantErr: "streams[0]: name is required",
		},
		{
			name:    "stream twice",
			mutate:  func(c *Config) { c.Streams = []StreamConfig{{Name: "s"}, {Name: "s"}} },
			wantErr: `streams[1]: stream "s" is listed twice`,
		},
		{
			name:    "bad start id",
			mutate:  func(c *Config) { c.Streams = []StreamConfig{{Name: "s", StartID: ">"}} },
			wantErr: `start_id ">"`,
		},
		{
			name:    "batch size",
			mutate:  func(c *Config) { c.Channels = []string{"a"}; c.MaxBatchSize = 0 },
			wantErr: "max_batch_size must be at least 1",
		},
		{
			name:    "block forever",
			mutate:  func(c *Config) { c.Streams = []StreamConfig{{Name: "s"}}; c.Block = 0 },
			wantErr: "block must be at least 1ms",
		},
		{
			name:    "backoff upside down",
			mutate:  func(c *Config) { c.Channels = []string{"a"}; c.Reconnect.MaxInterval = time.Millisecond },
			wantErr: "max_interval at least initial_interval",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			cfg.Password = "secret"
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
