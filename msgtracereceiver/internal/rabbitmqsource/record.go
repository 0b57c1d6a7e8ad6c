package rabbitmqsource

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// System is the messaging.system of the source.
const System = "rabbitmq"

const (
	// defaultExchange is semconv's name for the nameless default exchange.
	defaultExchange = "amq.default"
	// traceExchange is the firehose exchange.
	traceExchange = "amq.rabbitmq.trace"
)

// Fault kinds reported through Telemetry.Fault.
const (
	faultHeader       = "header"        // traceparent/tracestate/baggage of a type other than string or bytes
	faultTraceMessage = "trace_message" // a firehose message without the headers RabbitMQ puts on it
	faultTimestamp    = "timestamp"     // an AMQP timestamp property of an unexpected type
)

// observation is one message as seen by the tap, from either a firehose
// trace message or a delivery to the tap's own queue.
type observation struct {
	event         string // firehose event, empty in queue mode
	vhost         string
	exchange      string
	routingKey    string
	queue         string // the application's queue, for deliver events
	messageID     string
	correlationID string
	timestamp     time.Time
	headers       amqp.Table // the message's own AMQP headers table
	bodySize      int
	// tapDelivery names the tap's own delivery, for messages without a message_id.
	tapDelivery string
}

// fault is one problem with a message's wire data; the message is still reported.
type fault struct {
	kind string
	err  error
}

// fromFirehose reads a trace message. RabbitMQ puts the original message's
// exchange, routing keys, vhost and properties in the trace message's
// headers, and its body unchanged in the body.
func fromFirehose(d *amqp.Delivery, vhost string) (observation, []fault) {
	o := observation{bodySize: len(d.Body), vhost: vhost}
	var faults []fault
	event, rest, _ := strings.Cut(d.RoutingKey, ".")
	o.event = event
	if event == EventDeliver {
		o.queue = rest
	}
	h := d.Headers
	if v, ok := h["vhost"].(string); ok && v != "" {
		o.vhost = v
	}
	x, ok := h["exchange_name"].(string)
	if !ok {
		faults = append(faults, fault{faultTraceMessage, errors.New("no exchange_name header")})
		x = strings.TrimPrefix(d.RoutingKey, EventPublish+".") // publish.<exchange> still names it
	}
	o.exchange = x
	if rks, ok := h["routing_keys"].([]any); ok && len(rks) > 0 {
		// CC/BCC routing keys follow the first one; the message's own key leads.
		if rk, ok := rks[0].(string); ok {
			o.routingKey = rk
		}
	} else {
		faults = append(faults, fault{faultTraceMessage, errors.New("no routing_keys header")})
	}
	props, ok := h["properties"].(amqp.Table)
	if !ok {
		faults = append(faults, fault{faultTraceMessage, errors.New("no properties header")})
		return o, faults
	}
	o.messageID, _ = props["message_id"].(string)
	o.correlationID, _ = props["correlation_id"].(string)
	if ts, present := props["timestamp"]; present {
		t, err := amqpTimestamp(ts)
		if err != nil {
			faults = append(faults, fault{faultTimestamp, err})
		}
		o.timestamp = t
	}
	if hs, present := props["headers"]; present {
		if t, ok := hs.(amqp.Table); ok {
			o.headers = t
		} else {
			faults = append(faults, fault{faultTraceMessage, fmt.Errorf("properties.headers is %T, not a table", hs)})
		}
	}
	return o, faults
}

// fromDelivery reads a message routed to the tap's own queue.
func fromDelivery(d *amqp.Delivery, vhost string) observation {
	return observation{
		vhost:         vhost,
		exchange:      d.Exchange,
		routingKey:    d.RoutingKey,
		messageID:     d.MessageId,
		correlationID: d.CorrelationId,
		timestamp:     d.Timestamp,
		headers:       d.Headers,
		bodySize:      len(d.Body),
	}
}

// amqpTimestamp reads the AMQP timestamp property (seconds since the epoch),
// which the firehose copies into a table as an integer.
func amqpTimestamp(v any) (time.Time, error) {
	var sec int64
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case int64:
		sec = t
	case int32:
		sec = int64(t)
	case int16:
		sec = int64(t)
	case int8:
		sec = int64(t)
	case uint64:
		sec = int64(t)
	case uint32:
		sec = int64(t)
	case uint16:
		sec = int64(t)
	case uint8:
		sec = int64(t)
	default:
		return time.Time{}, fmt.Errorf("timestamp property is %T", v)
	}
	if sec <= 0 {
		return time.Time{}, nil
	}
	return time.Unix(sec, 0), nil
}

// headerString reads a W3C header from an AMQP headers table, where clients
// put it as a long string or as bytes. Absent is not a fault.
func headerString(t amqp.Table, key string) (string, error) {
	v, ok := t[key]
	if !ok {
		// AMQP keys are case-sensitive; some clients capitalise the W3C names.
		for k, kv := range t {
			if strings.EqualFold(k, key) {
				v, ok = kv, true
				break
			}
		}
		if !ok {
			return "", nil
		}
	}
	switch s := v.(type) {
	case string:
		return s, nil
	case []byte:
		return string(s), nil
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("header %s is %T, not a string", key, v)
	}
}

// destination names where the message went, per semconv 1.44 for RabbitMQ:
// {exchange}:{routing key} on the send side, {exchange}:{routing key}:{queue}
// for a delivery; empty parts are left out, a queue equal to the routing key
// is written once, and the default exchange without a routing key is amq.default.
func (o *observation) destination() string {
	parts := make([]string, 0, 3)
	if o.exchange != "" {
		parts = append(parts, o.exchange)
	}
	if o.routingKey != "" {
		parts = append(parts, o.routingKey)
	}
	if o.queue != "" && o.queue != o.routingKey {
		parts = append(parts, o.queue)
	}
	if len(parts) == 0 {
		return defaultExchange
	}
	return strings.Join(parts, ":")
}

// identity names the message on the broker: vhost, exchange and routing key
// plus the message_id, so that a redelivered message rebuilds the same span.
// Without a message_id only the tap's own delivery names it, and a
// redelivery to the tap yields a new identity.
func (o *observation) identity() string {
	// Parts are escaped so that "/" in a vhost or name cannot make two
	// identities equal.
	var b strings.Builder
	b.WriteString("rabbitmq/")
	b.WriteString(url.PathEscape(o.vhost))
	b.WriteByte('/')
	b.WriteString(url.PathEscape(o.exchange))
	b.WriteByte('/')
	b.WriteString(url.PathEscape(o.routingKey))
	if o.messageID != "" {
		b.WriteString("/id/")
		b.WriteString(url.PathEscape(o.messageID))
	} else {
		b.WriteString("/tap/")
		b.WriteString(o.tapDelivery)
	}
	if o.event == EventDeliver {
		// Each delivery to a queue is its own observation of the message.
		b.WriteString("/deliver/")
		b.WriteString(url.PathEscape(o.queue))
	}
	return b.String()
}

// toMessage builds the broker-neutral message; header faults are returned
// and the message keeps whatever could be read.
func (o *observation) toMessage(observed time.Time, host string, port int) (message.Message, []fault) {
	var faults []fault
	read := func(key string) string {
		v, err := headerString(o.headers, key)
		if err != nil {
			faults = append(faults, fault{faultHeader, err})
		}
		return v
	}
	m := message.Message{
		System:         System,
		Destination:    o.destination(),
		Subscription:   o.subscription(),
		Identity:       o.identity(),
		ID:             o.messageID,
		ConversationID: o.correlationID,
		Timestamp:      o.timestamp,
		Observed:       observed,
		BodySize:       o.bodySize,
		TraceParent:    read("traceparent"),
		TraceState:     read("tracestate"),
		Baggage:        read("baggage"),
		ServerAddress:  host,
		ServerPort:     port,
	}
	if o.routingKey != "" {
		m.Attributes = []attribute.KeyValue{semconv.MessagingRabbitMQDestinationRoutingKey(o.routingKey)}
	}
	return m, faults
}

// tapDeliveryName names a delivery to the tap: the connection's random
// session plus the delivery tag, unique for the life of the process.
func tapDeliveryName(session string, tag uint64) string {
	return session + "-" + strconv.FormatUint(tag, 10)
}
