package main

import (
	"context"
	"fmt"
	"io"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

const (
	rabbitmqAddr = "127.0.0.1:5672"
	// rabbitmqRoutingKey is where the application publishes its orders.
	rabbitmqRoutingKey = "orders.created"
	// attrRabbitMQRoutingKey is FastStream's routing key attribute.
	attrRabbitMQRoutingKey = "messaging.rabbitmq.destination.routing_key"
)

// rabbitMQ publishes to a topic exchange of the demo's own, which the
// gateway taps through a queue of its own bound to it (mode queue: no
// firehose needed on the broker).
type rabbitMQ struct {
	exchange string
	// tapQueue is the tap's queue, named so that the demo can see the tap
	// consume from it before publishing.
	tapQueue string
	conn     *amqp.Connection
	ch       *amqp.Channel
}

func newRabbitMQ(run string) *rabbitMQ {
	return &rabbitMQ{exchange: "demo-" + run, tapQueue: "otelcol-msg-demo-" + run}
}

func (*rabbitMQ) name() string  { return "rabbitmq" }
func (*rabbitMQ) title() string { return "RabbitMQ" }
func (*rabbitMQ) addr() string  { return rabbitmqAddr }

func (r *rabbitMQ) setup(context.Context) (string, error) {
	conn, err := amqp.Dial("amqp://guest:guest@" + rabbitmqAddr + "/")
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	r.conn = conn
	if r.ch, err = conn.Channel(); err != nil {
		return "", fmt.Errorf("channel: %w", err)
	}
	// Auto-delete: should the demo die before close, the exchange goes
	// when the tap's queue (x-expires) does.
	if err := r.ch.ExchangeDeclare(r.exchange, amqp.ExchangeTopic, false, true, false, false, nil); err != nil {
		return "", fmt.Errorf("declare exchange %s: %w", r.exchange, err)
	}
	return fmt.Sprintf("topic exchange %q, tapped through queue %q bound to it", r.exchange, r.tapQueue), nil
}

func (r *rabbitMQ) env() []string {
	return []string{
		"OTELCOL_MSG_RABBITMQ_ENDPOINT=amqp://" + rabbitmqAddr,
		"OTELCOL_MSG_DEMO_EXCHANGE=" + r.exchange,
		"OTELCOL_MSG_DEMO_TAP_QUEUE=" + r.tapQueue,
	}
}

// waitTap waits for a consumer on the tap's queue: the tap binds it before
// it consumes.
func (r *rabbitMQ) waitTap(ctx context.Context) error {
	return waitUntil(ctx, 50*time.Millisecond, "the RabbitMQ tap never consumed from "+r.tapQueue, func(context.Context) (bool, error) {
		// A passive declare of a missing queue closes its channel: one channel per look.
		ch, err := r.conn.Channel()
		if err != nil {
			return false, err
		}
		defer ch.Close()
		q, err := ch.QueueDeclarePassive(r.tapQueue, false, false, false, false, nil)
		return err == nil && q.Consumers > 0, err
	})
}

// traffic publishes an order as FastStream's RabbitMQ publisher does
// (message_id and correlation_id as AMQP properties, traceparent and
// baggage in the headers table), and one from an uninstrumented producer.
func (r *rabbitMQ) traffic(ctx context.Context, out io.Writer, a *app, exp *expectation) error {
	corrID := newMessageID()
	span, header := a.publishScope(nil, r.exchange+"."+rabbitmqRoutingKey, func(m pcommon.Map) {
		m.PutStr(attrSystem, "rabbitmq")
		m.PutStr(attrDestination, r.exchange)
		m.PutStr(attrRabbitMQRoutingKey, rabbitmqRoutingKey)
		m.PutStr(attrConversationID, corrID)
	})
	err := r.ch.PublishWithContext(ctx, r.exchange, rabbitmqRoutingKey, false, false, amqp.Publishing{
		ContentType:   "application/json",
		MessageId:     newMessageID(),
		CorrelationId: corrID,
		Headers:       amqp.Table{"traceparent": header.traceparent(), "baggage": "tenant=acme,channel=web"},
		Body:          []byte(`{"order":6}`),
	})
	endPublish(span, time.Now(), err)
	if err != nil {
		return fmt.Errorf("RabbitMQ publish to %s: %w", r.exchange, err)
	}
	err = r.ch.PublishWithContext(ctx, r.exchange, rabbitmqRoutingKey, false, false, amqp.Publishing{Body: []byte(`{"order":7}`)})
	if err != nil {
		return fmt.Errorf("RabbitMQ publish to %s: %w", r.exchange, err)
	}
	fmt.Fprintf(out, "  faststream app: published an order to RabbitMQ exchange %q, key %q, with baggage; an uninstrumented producer another, no headers\n",
		r.exchange, rabbitmqRoutingKey)
	// The semconv destination of a publish: {exchange}:{routing key}.
	dest := r.exchange + ":" + rabbitmqRoutingKey
	exp.perMessage[dest] += 2
	exp.rebuilt[dest]++
	return nil
}

func (r *rabbitMQ) close() {
	if r.conn == nil {
		return
	}
	if r.ch != nil {
		// The gateway has stopped: its named queue has no consumer left.
		_, _ = r.ch.QueueDelete(r.tapQueue, false, false, false)
		_ = r.ch.ExchangeDelete(r.exchange, false, false)
	}
	_ = r.conn.Close()
}
