package msgtracereceiver

import (
	"context"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/natssource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/rabbitmqsource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/redissource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// Wire bytes that are not UTF-8, one test per source: every span name and
// string attribute the receiver exports is valid UTF-8 (strict protobuf
// decoders reject a whole export request otherwise), and the repair counts
// a header fault.

const notUTF8 = "\xff\xfe"

// assertAllUTF8 fails for any span name or string attribute (span or link)
// that is not valid UTF-8; it returns how many spans it checked.
func assertAllUTF8(t *testing.T, sink *consumertest.TracesSink) int {
	t.Helper()
	spans := allSpans(sink)
	for _, s := range spans {
		assert.True(t, utf8.ValidString(s.Name()), "span name %q", s.Name())
		assertMapUTF8(t, s.Name(), s.Attributes())
		for i := 0; i < s.Links().Len(); i++ {
			assertMapUTF8(t, s.Name()+" link", s.Links().At(i).Attributes())
		}
	}
	return len(spans)
}

func assertMapUTF8(t *testing.T, where string, m pcommon.Map) {
	t.Helper()
	for k, v := range m.All() {
		assert.True(t, utf8.ValidString(k), "%s: key %q", where, k)
		if v.Type() == pcommon.ValueTypeStr {
			assert.True(t, utf8.ValidString(v.Str()), "%s: %s = %q is not UTF-8", where, k, v.Str())
		}
	}
}

// waitSpanWith waits for a receive span whose attribute key is want.
func waitSpanWith(t *testing.T, sink *consumertest.TracesSink, key, want string) ptrace.Span {
	t.Helper()
	var found ptrace.Span
	require.Eventually(t, func() bool {
		for _, s := range allSpans(sink) {
			if s.Kind() == ptrace.SpanKindClient && attr(s, key) == want {
				found = s
				return true
			}
		}
		return false
	}, waitFor, tick, "no receive span with %s=%q", key, want)
	return found
}

// The reported case: a routing key `a.\xff\xfe` was repaired in the span
// name but not in messaging.rabbitmq.destination.routing_key.
func TestRabbitMQRoutingKeyNotUTF8(t *testing.T) {
	sourcetest.RequireReachable(t, "RabbitMQ", sourcetest.RabbitMQAddr)
	sourcetest.EnableFirehose(t)
	conn, err := amqp.Dial("amqp://guest:guest@" + sourcetest.RabbitMQAddr + "/")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	exchange := sourcetest.Unique("utf8")
	require.NoError(t, ch.ExchangeDeclare(exchange, "topic", false, true, false, false, nil))
	t.Cleanup(func() { _ = ch.ExchangeDelete(exchange, false, false) })

	cfg := createDefaultConfig().(*Config)
	r := rabbitmqsource.NewDefaultConfig()
	r.Endpoint = "amqp://" + sourcetest.RabbitMQAddr
	r.Firehose.Exchanges = []string{exchange}
	r.Reconnect.InitialInterval = 100 * time.Millisecond
	cfg.RabbitMQ = r
	sink := new(consumertest.TracesSink)
	o := startObservedReceiver(t, cfg, sink)

	publish := func(id, key string) {
		require.NoError(t, ch.PublishWithContext(context.Background(), exchange, key, false, false,
			amqp.Publishing{MessageId: id, Timestamp: time.Now(), Body: []byte("{}")}))
	}
	probeUntilSeen(t, sink, "probe", func(id string) { publish(id, "ok") })
	publish("bad-key", "a."+notUTF8)
	s := waitSpanWith(t, sink, "messaging.message.id", "bad-key")
	assert.Equal(t, "a.\uFFFD", attr(s, "messaging.rabbitmq.destination.routing_key"))
	assert.Positive(t, assertAllUTF8(t, sink))
	assert.Positive(t, o.faults(t)["rabbitmq/header"], "the repair is counted")
}

// A NATS subject and message_id header with invalid bytes.
func TestNATSSubjectNotUTF8(t *testing.T) {
	sourcetest.RequireReachable(t, "NATS", sourcetest.NATSAddr)
	nc, err := nats.Connect("nats://" + sourcetest.NATSAddr)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	root := sourcetest.Unique("utf8")

	cfg := createDefaultConfig().(*Config)
	n := natssource.NewDefaultConfig()
	n.Servers = []string{"nats://" + sourcetest.NATSAddr}
	n.Subjects = []string{root + ".>"}
	n.Reconnect.InitialInterval = 50 * time.Millisecond
	cfg.NATS = n
	sink := new(consumertest.TracesSink)
	o := startObservedReceiver(t, cfg, sink)

	publish := func(subject, id string) {
		m := nats.NewMsg(subject)
		m.Header.Set("message_id", id)
		m.Header.Set("correlation_id", "c"+notUTF8)
		require.NoError(t, nc.PublishMsg(m))
	}
	probeUntilSeen(t, sink, "probe", func(id string) { publish(root+".ok", id) })
	publish(root+".x"+notUTF8, "bad"+notUTF8)
	s := waitSpanWith(t, sink, "messaging.message.id", "bad\uFFFD")
	assert.Equal(t, root+".x\uFFFD", attr(s, "messaging.destination.name"))
	assert.Equal(t, "c\uFFFD", attr(s, "messaging.message.conversation_id"))
	assert.Positive(t, assertAllUTF8(t, sink))
	assert.Positive(t, o.faults(t)["nats/header"])
}

// A Redis channel matched by a pattern, both carrying invalid bytes (the
// pattern becomes messaging.destination.template).
func TestRedisChannelNotUTF8(t *testing.T) {
	sourcetest.RequireReachable(t, "Redis", sourcetest.RedisAddr)
	c := sourcetest.RedisClient(t, sourcetest.RedisAddr)
	root := sourcetest.Unique("utf8")

	cfg := createDefaultConfig().(*Config)
	r := redissource.NewDefaultConfig()
	r.Endpoint = sourcetest.RedisAddr
	r.Patterns = []string{root + notUTF8 + "*"}
	r.Reconnect.InitialInterval = 50 * time.Millisecond
	cfg.Redis = r
	sink := new(consumertest.TracesSink)
	o := startObservedReceiver(t, cfg, sink)

	probeUntilSeen(t, sink, "probe", func(id string) {
		require.NoError(t, c.Publish(root+notUTF8+".ok", fastStreamEnvelope(brokerCase{id: id})))
	})
	require.NoError(t, c.Publish(root+notUTF8+".bad", fastStreamEnvelope(brokerCase{id: "bad"})))
	s := waitSpanWith(t, sink, "messaging.message.id", "bad")
	assert.Equal(t, root+"\uFFFD.bad", attr(s, "messaging.destination.name"))
	assert.Equal(t, root+"\uFFFD*", attr(s, "messaging.destination.template"))
	assert.Positive(t, assertAllUTF8(t, sink))
	assert.Positive(t, o.faults(t)["redis/header"])
}

// A Kafka message_id header with invalid bytes; a key without a canonical
// string form is not recorded at all (semconv), never exported broken.
func TestKafkaKeyNotUTF8(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "utf8"))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	cfg := kafkaConfig(cluster.ListenAddrs(), "utf8")
	cfg.Kafka.IncludeMessageKey = true
	sink := new(consumertest.TracesSink)
	o := startObservedReceiver(t, cfg, sink)

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	rec := &kgo.Record{Topic: "utf8", Key: []byte("k" + notUTF8), Headers: []kgo.RecordHeader{hdr("message_id", "kafka-bad"+notUTF8)}}
	require.NoError(t, cl.ProduceSync(context.Background(), rec).FirstErr())
	s := waitSpanWith(t, sink, "messaging.message.id", "kafka-bad\uFFFD")
	_, hasKey := s.Attributes().Get("messaging.kafka.message.key")
	assert.False(t, hasKey, "a key that is not UTF-8 is not recorded")
	assert.Positive(t, assertAllUTF8(t, sink))
	assert.Positive(t, o.faults(t)["kafka/header"])
}
