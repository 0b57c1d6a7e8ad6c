package rabbitmqsource

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// traceDelivery is a firehose message as RabbitMQ 3.10 writes it.
func traceDelivery(routingKey, exchange, rk string, props amqp.Table, body string) *amqp.Delivery {
	return &amqp.Delivery{
		Exchange:   traceExchange,
		RoutingKey: routingKey,
		Headers: amqp.Table{
			"exchange_name": exchange,
			"routing_keys":  []any{rk},
			"properties":    props,
			"node":          "rabbit@localhost",
			"vhost":         "/",
		},
		Body: []byte(body),
	}
}

func TestFromFirehose(t *testing.T) {
	observed := time.Unix(1700000100, 0)
	tests := []struct {
		name       string
		d          *amqp.Delivery
		want       message.Message
		wantFaults []string
	}{
		{
			name: "publish with context and byte baggage",
			d: traceDelivery("publish.orders", "orders", "eu.created", amqp.Table{
				"message_id":     "m-1",
				"correlation_id": "c-1",
				"timestamp":      int64(1700000000),
				"headers":        amqp.Table{"traceparent": tp, "tracestate": "k=v", "baggage": []byte("tenant=acme")},
			}, "hello"),
			want: message.Message{
				System: System, Subscription: "firehose/publish", Destination: "orders:eu.created", Identity: "rabbitmq/%2F/orders/eu.created/id/m-1",
				ID: "m-1", ConversationID: "c-1", Timestamp: time.Unix(1700000000, 0), Observed: observed, BodySize: 5,
				TraceParent: tp, TraceState: "k=v", Baggage: "tenant=acme", ServerAddress: "127.0.0.1", ServerPort: 5672,
				Attributes: []attribute.KeyValue{semconv.MessagingRabbitMQDestinationRoutingKey("eu.created")},
			},
		},
		{
			name: "default exchange is named by the routing key",
			d:    traceDelivery("publish.", "", "billing", amqp.Table{}, ""),
			want: message.Message{
				System: System, Subscription: "firehose/publish", Destination: "billing", Identity: "rabbitmq/%2F//billing/tap/s-7",
				Observed: observed, ServerAddress: "127.0.0.1", ServerPort: 5672,
				Attributes: []attribute.KeyValue{semconv.MessagingRabbitMQDestinationRoutingKey("billing")},
			},
		},
		{
			name: "default exchange without routing key is amq.default",
			d:    traceDelivery("publish.", "", "", amqp.Table{"message_id": "m"}, ""),
			want: message.Message{
				System: System, Subscription: "firehose/publish", Destination: defaultExchange, Identity: "rabbitmq/%2F///id/m", ID: "m",
				Observed: observed, ServerAddress: "127.0.0.1", ServerPort: 5672,
			},
		},
		{
			name: "deliver adds the queue",
			d:    traceDelivery("deliver.audit", "orders", "eu.created", amqp.Table{"message_id": "m-1"}, "x"),
			want: message.Message{
				System: System, Subscription: "firehose/deliver", Destination: "orders:eu.created:audit", Identity: "rabbitmq/%2F/orders/eu.created/id/m-1/deliver/audit",
				ID: "m-1", Observed: observed, BodySize: 1, ServerAddress: "127.0.0.1", ServerPort: 5672,
				Attributes: []attribute.KeyValue{semconv.MessagingRabbitMQDestinationRoutingKey("eu.created")},
			},
		},
		{
			name: "deliver through the default exchange names the queue once",
			d:    traceDelivery("deliver.billing", "", "billing", amqp.Table{"message_id": "m-2"}, ""),
			want: message.Message{
				System: System, Subscription: "firehose/deliver", Destination: "billing", Identity: "rabbitmq/%2F//billing/id/m-2/deliver/billing",
				ID: "m-2", Observed: observed, ServerAddress: "127.0.0.1", ServerPort: 5672,
				Attributes: []attribute.KeyValue{semconv.MessagingRabbitMQDestinationRoutingKey("billing")},
			},
		},
		{
			name: "capitalised header, wrong-typed baggage, odd timestamp",
			d: traceDelivery("publish.x", "x", "", amqp.Table{
				"message_id": "m",
				"timestamp":  "yesterday",
				"headers":    amqp.Table{"Traceparent": []byte(tp), "baggage": int32(7)},
			}, ""),
			want: message.Message{
				System: System, Subscription: "firehose/publish", Destination: "x", Identity: "rabbitmq/%2F/x//id/m", ID: "m",
				Observed: observed, TraceParent: tp, ServerAddress: "127.0.0.1", ServerPort: 5672,
			},
			wantFaults: []string{faultTimestamp, faultHeader},
		},
		{
			name: "trace message without the broker's headers",
			d:    &amqp.Delivery{RoutingKey: "publish.orders", Body: []byte("abc")},
			want: message.Message{
				System: System, Subscription: "firehose/publish", Destination: "orders", Identity: "rabbitmq/%2F/orders//tap/s-7",
				Observed: observed, BodySize: 3, ServerAddress: "127.0.0.1", ServerPort: 5672,
			},
			wantFaults: []string{faultTraceMessage, faultTraceMessage, faultTraceMessage},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, faults := fromFirehose(tt.d, "/")
			o.tapDelivery = "s-7"
			m, hf := o.toMessage(observed, "127.0.0.1", 5672)
			var kinds []string
			for _, f := range append(faults, hf...) {
				require.Error(t, f.err)
				kinds = append(kinds, f.kind)
			}
			assert.Equal(t, tt.wantFaults, kinds)
			assert.Equal(t, tt.want, m)
		})
	}
}

func TestFromDelivery(t *testing.T) {
	d := &amqp.Delivery{
		Exchange: "orders", RoutingKey: "eu.created", MessageId: "m-1", CorrelationId: "c-1",
		Timestamp: time.Unix(1700000000, 0), Headers: amqp.Table{"traceparent": tp}, Body: []byte("{}"),
	}
	o := fromDelivery(d, "prod")
	m, faults := o.toMessage(time.Unix(1, 0), "mq", 5671)
	assert.Empty(t, faults)
	assert.Equal(t, "orders:eu.created", m.Destination)
	assert.Equal(t, "rabbitmq/prod/orders/eu.created/id/m-1", m.Identity)
	assert.Equal(t, tp, m.TraceParent)
	assert.Equal(t, "c-1", m.ConversationID)
	assert.Equal(t, 2, m.BodySize)
	assert.Equal(t, time.Unix(1700000000, 0), m.Timestamp)
}

func TestAMQPTimestamp(t *testing.T) {
	for _, v := range []any{int64(1700000000), int32(1700000000), uint32(1700000000), uint64(1700000000), time.Unix(1700000000, 0)} {
		got, err := amqpTimestamp(v)
		require.NoError(t, err)
		assert.Equal(t, int64(1700000000), got.Unix(), "%T", v)
	}
	got, err := amqpTimestamp(int64(0))
	require.NoError(t, err)
	assert.True(t, got.IsZero(), "0 means no timestamp")
	_, err = amqpTimestamp(1.5)
	require.Error(t, err)
}
