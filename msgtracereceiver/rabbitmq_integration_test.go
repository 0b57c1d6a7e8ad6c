package msgtracereceiver

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/rabbitmqsource"
)

// Integration test against the local RabbitMQ (127.0.0.1:5672, guest/guest).

const rabbitmqAddr = "127.0.0.1:5672"

// rabbitmqctl runs the broker's CLI (trace_on, close_connection); a missing
// CLI fails the test with CI=true and skips it otherwise.
func rabbitmqctl(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("rabbitmqctl not found (CI=true): %v", err)
		}
		t.Skipf("rabbitmqctl not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	require.NoError(t, err, "rabbitmqctl %v: %s", args, out)
	return string(out)
}

// closeRabbitMQConnections makes the broker close the receiver's
// connections (they advertise "otelcol-msg msgtrace").
func closeRabbitMQConnections(t *testing.T) {
	t.Helper()
	var pids []string
	require.Eventually(t, func() bool {
		out := rabbitmqctl(t, "list_connections", "pid", "client_properties", "-q", "--no-table-headers")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.Contains(line, `"otelcol-msg msgtrace"`) {
				pids = append(pids, f[0])
			}
		}
		return len(pids) > 0
	}, waitFor, 200*time.Millisecond, "the receiver's connection is not listed")
	for _, pid := range pids {
		rabbitmqctl(t, "close_connection", pid, "msgtrace receiver test: connection killed")
	}
}

// The firehose tap through the factory: spans for every case of the
// scenario, in the producers' traces or under rebuilt send spans, and the
// same after the broker closed the receiver's connection.
func TestRabbitMQReceiver(t *testing.T) {
	requireServer(t, "RabbitMQ", rabbitmqAddr)
	rabbitmqctl(t, "trace_on", "-p", "/")

	conn, err := amqp.Dial("amqp://guest:guest@" + rabbitmqAddr + "/")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	exchange := uniqueName("orders")
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
	r := rabbitmqsource.NewDefaultConfig()
	r.Endpoint = "amqp://" + rabbitmqAddr
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

	closeRabbitMQConnections(t)
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
