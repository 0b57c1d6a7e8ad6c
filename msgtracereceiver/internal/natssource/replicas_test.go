package natssource

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
)

func TestReplicaOptionsValidate(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Subjects = []string{"orders.>"}
	cfg.QueueGroup = "otelcol-msgtrace"
	cfg.JetStream.Streams = []StreamConfig{{Name: "ORDERS", Durable: "otelcol-msgtrace", AckWait: 5 * time.Second, InactiveThreshold: time.Hour}}
	assert.NoError(t, cfg.Validate())

	cfg.QueueGroup = "two words"
	cfg.JetStream.Streams = []StreamConfig{
		{Name: "A", Durable: "a.b"},
		{Name: "B", AckWait: time.Second},
		{Name: "C", Durable: "c", AckWait: time.Millisecond, InactiveThreshold: -time.Second},
	}
	err := cfg.Validate()
	for _, want := range []string{
		"queue_group", "jetstream.streams[0]: durable", "jetstream.streams[1]: ack_wait and inactive_threshold need durable",
		"jetstream.streams[2]: inactive_threshold must not be negative", "jetstream.streams[2]: ack_wait must be at least 1s",
	} {
		assert.ErrorContains(t, err, want)
	}
}

func TestDurableConfig(t *testing.T) {
	c := durableConfig(StreamConfig{Name: "S", Durable: "tap", FilterSubjects: []string{"s.a"}, DeliverPolicy: DeliverAll})
	assert.Equal(t, "tap", c.Durable)
	assert.Equal(t, jetstream.AckExplicitPolicy, c.AckPolicy)
	assert.Equal(t, defaultAckWait, c.AckWait)
	assert.Equal(t, "s.a", c.FilterSubject, "one filter works with nats-server 2.9")
	assert.Equal(t, jetstream.DeliverAllPolicy, c.DeliverPolicy)
	assert.Equal(t, tapConsumerDescription, c.Description)
	c = durableConfig(StreamConfig{Name: "S", Durable: "tap", FilterSubjects: []string{"s.a", "s.b"}, AckWait: 5 * time.Second})
	assert.Equal(t, []string{"s.a", "s.b"}, c.FilterSubjects)
	assert.Equal(t, 5*time.Second, c.AckWait)
}
