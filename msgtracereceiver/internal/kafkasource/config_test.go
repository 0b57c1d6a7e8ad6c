package kafkasource

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configtls"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		err    string
	}{
		{name: "defaults with a topic", mutate: func(*Config) {}},
		{name: "no brokers", mutate: func(c *Config) { c.Brokers = nil }, err: "brokers: at least one broker is required"},
		{name: "blank broker", mutate: func(c *Config) { c.Brokers = []string{" "} }, err: "brokers: empty broker address"},
		{name: "no topics", mutate: func(c *Config) { c.Topics = nil }, err: "topics: at least one topic or ^regex is required"},
		{name: "empty topic", mutate: func(c *Config) { c.Topics = []string{""} }, err: "topics: empty topic name"},
		{name: "bad regex", mutate: func(c *Config) { c.Topics = []string{"^a("} }, err: `topics: invalid regular expression "^a("`},
		{name: "refresh", mutate: func(c *Config) { c.TopicRefreshInterval = 0 }, err: "topic_refresh_interval must be positive"},
		{name: "group", mutate: func(c *Config) { c.GroupID = "" }, err: "group_id must not be empty"},
		{name: "offset", mutate: func(c *Config) { c.InitialOffset = "oldest" }, err: `initial_offset must be "latest" or "earliest", got "oldest"`},
		{name: "version", mutate: func(c *Config) { c.ProtocolVersion = "x" }, err: "protocol_version: invalid version"},
		{name: "empty version is sarama's default", mutate: func(c *Config) { c.ProtocolVersion = "" }},
		{name: "batch", mutate: func(c *Config) { c.MaxBatchSize = 0 }, err: "max_batch_size must be at least 1, got 0"},
		{name: "heartbeat", mutate: func(c *Config) { c.HeartbeatInterval = c.SessionTimeout }, err: "heartbeat_interval < session_timeout"},
		{name: "commit", mutate: func(c *Config) { c.CommitInterval = 0 }, err: "commit_interval must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewDefaultConfig()
			c.Topics = []string{"orders"}
			tt.mutate(c)
			err := c.Validate()
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestSASLValidate(t *testing.T) {
	ok := SASLConfig{Mechanism: MechanismScramSHA256, Username: "u", Password: "p"}
	require.NoError(t, ok.Validate())
	for _, tt := range []struct {
		c   SASLConfig
		err string
	}{
		{SASLConfig{Mechanism: "OAUTHBEARER", Username: "u", Password: "p"}, "mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		{SASLConfig{Mechanism: MechanismPlain, Password: "p"}, "username is required"},
		{SASLConfig{Mechanism: MechanismPlain, Username: "u"}, "password is required"},
		{SASLConfig{Mechanism: MechanismPlain, Username: "u", Password: "p", Version: 2}, "version must be 0 or 1, got 2"},
	} {
		assert.ErrorContains(t, tt.c.Validate(), tt.err)
	}
}

func TestSaramaConfig(t *testing.T) {
	c := NewDefaultConfig()
	c.Topics = []string{"orders"}
	c.InitialOffset = OffsetEarliest
	c.ProtocolVersion = "3.7.0"
	c.MaxBatchSize = 5000
	c.Auth.SASL = &SASLConfig{Mechanism: MechanismScramSHA512, Username: "u", Password: "p", Version: 1}
	sc, err := NewSaramaConfig(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, sarama.V3_7_0_0, sc.Version)
	assert.Equal(t, sarama.OffsetOldest, sc.Consumer.Offsets.Initial)
	assert.False(t, sc.Metadata.AllowAutoTopicCreation, "a tap never creates topics")
	assert.True(t, sc.Consumer.Offsets.AutoCommit.Enable)
	assert.Equal(t, c.CommitInterval, sc.Consumer.Offsets.AutoCommit.Interval)
	assert.Equal(t, 5000, sc.ChannelBufferSize)
	assert.True(t, sc.Net.SASL.Enable)
	assert.Equal(t, sarama.SASLMechanism(sarama.SASLTypeSCRAMSHA512), sc.Net.SASL.Mechanism)
	assert.Equal(t, sarama.SASLHandshakeV1, sc.Net.SASL.Version)
	require.NotNil(t, sc.Net.SASL.SCRAMClientGeneratorFunc)

	// The SCRAM client speaks the first message of RFC 5802.
	cl := sc.Net.SASL.SCRAMClientGeneratorFunc()
	require.NoError(t, cl.Begin("u", "p", ""))
	first, err := cl.Step("")
	require.NoError(t, err)
	assert.Contains(t, first, "n=u,r=")
	assert.False(t, cl.Done())
}

func TestSaramaConfigTLSError(t *testing.T) {
	c := NewDefaultConfig()
	c.Topics = []string{"orders"}
	tls := configtls.NewDefaultClientConfig()
	tls.CAFile = "/nonexistent/ca.pem"
	c.TLS = &tls
	_, err := NewSaramaConfig(context.Background(), c)
	require.ErrorContains(t, err, "tls:")
}
