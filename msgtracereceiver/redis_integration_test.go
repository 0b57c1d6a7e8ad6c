package msgtracereceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/fsenvelope"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/redissource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// Integration test against the local Redis (127.0.0.1:6379).

// fastStreamEnvelope wraps a case the way FastStream 0.6+ publishes to Redis.
func fastStreamEnvelope(c brokerCase) string {
	hs := []fsenvelope.Header{{Key: "message_id", Value: c.id}}
	for _, kv := range [][2]string{{"correlation_id", c.correlation}, {"traceparent", c.traceparent}, {"baggage", c.baggage}} {
		if kv[1] != "" {
			hs = append(hs, fsenvelope.Header{Key: kv[0], Value: kv[1]})
		}
	}
	return string(fsenvelope.Encode(hs, []byte("{}")))
}

// Pub/Sub and a stream through the factory, FastStream envelopes decoded,
// and CLIENT KILL in the middle: stream entries added meanwhile are all
// seen, Pub/Sub spans resume once resubscribed.
func TestRedisReceiver(t *testing.T) {
	sourcetest.RequireReachable(t, "Redis", sourcetest.RedisAddr)
	c := sourcetest.RedisClient(t, sourcetest.RedisAddr)
	channel := sourcetest.Unique("orders")
	stream := sourcetest.Unique("ledger")
	t.Cleanup(func() { c.Del(stream) })

	cfg := createDefaultConfig().(*Config)
	cfg.IncludeBaggage = true // checkBrokerSpans checks baggage
	r := redissource.NewDefaultConfig()
	r.Endpoint = sourcetest.RedisAddr
	r.Channels = []string{channel}
	r.Streams = []redissource.StreamConfig{{Name: stream, StartID: redissource.StartAll}}
	r.Block = 100 * time.Millisecond
	r.Reconnect.InitialInterval = 50 * time.Millisecond
	cfg.Redis = r
	sink := new(consumertest.TracesSink)
	startReceiver(t, cfg, sink)

	publish := func(bc brokerCase) { require.NoError(t, c.Publish(channel, fastStreamEnvelope(bc))) }
	entries := map[string]string{}
	add := func(bc brokerCase) {
		id, err := c.XAdd(stream, "__data__", fastStreamEnvelope(bc))
		require.NoError(t, err)
		entries[bc.id] = id
	}
	channelIdentity := func(id string) string { return "redis/channel/" + channel + "/id/" + id }
	streamIdentity := func(id string) string { return "redis/0/stream/" + stream + "/" + entries[id] }

	probeUntilSeen(t, sink, "probe", func(id string) { publish(brokerCase{id: id}) })
	var ids []string
	for _, bc := range brokerScenario() {
		publish(bc)
		ids = append(ids, bc.id)
	}
	waitReceived(t, sink, ids...)
	checkBrokerSpans(t, sink, "redis", channel, channelIdentity)

	// The receiver's connections are named (CLIENT SETNAME) otelcol-msg-msgtrace.
	sourcetest.KillRedisClients(t, c, "otelcol-msg-msgtrace")
	sink.Reset()
	for _, bc := range brokerScenario() {
		add(bc)
	}
	waitReceived(t, sink, ids...)
	checkBrokerSpans(t, sink, "redis", stream, streamIdentity)

	probeUntilSeen(t, sink, "after", func(id string) { publish(brokerCase{id: id}) })
	sink.Reset()
	for _, bc := range brokerScenario() {
		publish(bc)
	}
	waitReceived(t, sink, ids...)
	checkBrokerSpans(t, sink, "redis", channel, channelIdentity)
}
