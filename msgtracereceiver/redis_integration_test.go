package msgtracereceiver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/fsenvelope"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/redissource"
)

// Integration test against the local Redis (127.0.0.1:6379).

const redisAddr = "127.0.0.1:6379"

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

// killRedisTap closes the receiver's connections (CLIENT SETNAME
// otelcol-msg-msgtrace) from the server side.
func killRedisTap(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	var killed int
	require.Eventually(t, func() bool {
		list, err := c.ClientList(ctx).Result()
		require.NoError(t, err)
		for _, line := range strings.Split(list, "\n") {
			if !strings.Contains(line, " name=otelcol-msg-msgtrace ") {
				continue
			}
			for _, f := range strings.Fields(line) {
				if id, ok := strings.CutPrefix(f, "id="); ok {
					require.NoError(t, c.Do(ctx, "CLIENT", "KILL", "ID", id).Err())
					killed++
				}
			}
		}
		return killed > 0
	}, waitFor, 100*time.Millisecond, "the receiver's connections are not listed")
}

// Pub/Sub and a stream through the factory, FastStream envelopes decoded,
// and CLIENT KILL in the middle: stream entries added meanwhile are all
// seen, Pub/Sub spans resume once resubscribed.
func TestRedisReceiver(t *testing.T) {
	requireServer(t, "Redis", redisAddr)
	c := redis.NewClient(&redis.Options{Addr: redisAddr, MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	channel := uniqueName("orders")
	stream := uniqueName("ledger")
	t.Cleanup(func() { c.Del(context.Background(), stream) })

	cfg := createDefaultConfig().(*Config)
	r := redissource.NewDefaultConfig()
	r.Endpoint = redisAddr
	r.Channels = []string{channel}
	r.Streams = []redissource.StreamConfig{{Name: stream, StartID: redissource.StartAll}}
	r.Block = 100 * time.Millisecond
	r.Reconnect.InitialInterval = 50 * time.Millisecond
	cfg.Redis = r
	sink := new(consumertest.TracesSink)
	startReceiver(t, cfg, sink)

	publish := func(bc brokerCase) { require.NoError(t, c.Publish(ctx, channel, fastStreamEnvelope(bc)).Err()) }
	entries := map[string]string{}
	add := func(bc brokerCase) {
		id, err := c.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"__data__": fastStreamEnvelope(bc)}}).Result()
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

	killRedisTap(t, c)
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
