package rabbitmqsource

import (
	"context"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const brokerAddr = sourcetest.RabbitMQAddr

func requireBroker(t *testing.T) { sourcetest.RequireReachable(t, "RabbitMQ", brokerAddr) }

// producer is the application side of a test.
type producer struct {
	conn *amqp.Connection
	ch   *amqp.Channel
}

func newProducer(t *testing.T) *producer {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@" + brokerAddr + "/")
	require.NoError(t, err)
	ch, err := conn.Channel()
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &producer{conn: conn, ch: ch}
}

func (p *producer) publish(t *testing.T, exchange, key string, msg amqp.Publishing) {
	t.Helper()
	require.NoError(t, p.ch.PublishWithContext(context.Background(), exchange, key, false, false, msg))
}

// startSource starts a source with a connection name of the test's own,
// which it returns.
func startSource(t *testing.T, cfg *Config, rec *sourcetest.Recorder) (message.Source, string) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	src, err := New(cfg, rec.Settings(t))
	require.NoError(t, err)
	name := sourcetest.Unique("msgtrace-test")
	src.(*source).connName = name
	sourcetest.Start(t, src, rec)
	return src, name
}
