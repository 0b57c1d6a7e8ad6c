package msgtracereceiver

import (
	"context"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/rabbitmqsource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// Integration test against the local RabbitMQ (127.0.0.1:5672, guest/guest).

// The firehose tap through the factory: spans for every case of the
// scenario, in the producers' traces or under rebuilt send spans, and the
// same after the broker closed the receiver's connection.
func TestRabbitMQReceiver(t *testing.T) {
	sourcetest.RequireReachable(t, "RabbitMQ", sourcetest.RabbitMQAddr)
	sourcetest.EnableFirehose(t)

	conn, err := amqp.Dial("amqp://guest:guest@" + sourcetest.RabbitMQAddr + "/")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	exchange := sourcetest.Unique("orders")
	require.NoError(t, ch.ExchangeDeclare(exchange, "topic", false, true, false, false, nil))
	t.Cleanup(func() { _ = ch.ExchangeDelete(exchange, false, false) })
	const key = "eu.created"
	publish := func(c brokerCase) {
		h := amqp.Table{}
		if c.traceparent != "" {
			h["traceparent"] = c.traceparent
		}
		if c.baggage != "" {
			h["baggage"] = []byte(c.baggage) // byte-valued, as some clients send it
		}
		require.NoError(t, ch.PublishWithContext(context.Background(), exchange, key, false, false, amqp.Publishing{
			MessageId: c.id, CorrelationId: c.correlation, Timestamp: time.Now(), Headers: h, Body: []byte("{}"),
		}))
	}

	cfg := createDefaultConfig().(*Config)
	cfg.IncludeBaggage = true // checkBrokerSpans checks baggage
	r := rabbitmqsource.NewDefaultConfig()
	r.Endpoint = "amqp://" + sourcetest.RabbitMQAddr
	r.Firehose.Exchanges = []string{exchange}
	r.Reconnect.InitialInterval = 100 * time.Millisecond
	cfg.RabbitMQ = r
	sink := new(consumertest.TracesSink)
	startReceiver(t, cfg, sink)

	destination := exchange + ":" + key
	identity := func(id string) string {
		return "rabbitmq/%2F/" + url.PathEscape(exchange) + "/" + key + "/id/" + id
	}
	probeUntilSeen(t, sink, "probe", func(id string) { publish(brokerCase{id: id}) })
	var ids []string
	for _, c := range brokerScenario() {
		publish(c)
		ids = append(ids, c.id)
	}
	waitReceived(t, sink, ids...)
	checkBrokerSpans(t, sink, "rabbitmq", destination, identity)

	// The receiver's connections advertise the name "otelcol-msg msgtrace".
	sourcetest.CloseRabbitMQConnections(t, `"otelcol-msg msgtrace"`)
	sink.Reset()
	// The firehose queue is exclusive: it died with the connection, so
	// probe until the tap is back, then everything must arrive again.
	probeUntilSeen(t, sink, "after", func(id string) { publish(brokerCase{id: id}) })
	sink.Reset()
	for _, c := range brokerScenario() {
		publish(c)
	}
	waitReceived(t, sink, ids...)
	checkBrokerSpans(t, sink, "rabbitmq", destination, identity)
}
