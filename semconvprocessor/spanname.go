package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"strings"
)

// oldSpanName splits a span name of the pre-1.26 form "<destination> <action>", which FastStream
// ("orders publish", "orders create", "orders process"), otelsarama ("orders publish",
// "orders receive") and kotel ("orders publish", "orders receive", "orders process") use.
// action must be an operation word (create, send, receive, process, settle, or the deprecated
// publish and deliver); op is its 1.44 messaging.operation.type. The destination may contain
// spaces: the action is the last word.
func (p *semconvProcessor) oldSpanName(name string) (destination, op string, ok bool) {
	i := strings.LastIndexByte(name, ' ')
	if i <= 0 {
		return "", "", false
	}
	op, ok = p.idx.Operation(name[i+1:])
	if !ok {
		return "", "", false
	}
	return name[:i], op, true
}

// rabbitMQDestinationName is the 1.44 messaging.destination.name of RabbitMQ: "{exchange}:{routing
// key}", or the one that is not empty, or "amq.default".
func rabbitMQDestinationName(exchange, routingKey string) string {
	switch {
	case exchange != "" && routingKey != "":
		return exchange + ":" + routingKey
	case exchange != "":
		return exchange
	case routingKey != "":
		return routingKey
	default:
		return rabbitMQDefaultExchange
	}
}

// fastStreamRabbitMQExchange recovers the exchange from FastStream's RabbitMQ span-name
// destination "<exchange|default>.<routing_key>", given the routing key.
func fastStreamRabbitMQExchange(nameDestination, routingKey string) (string, bool) {
	exchange, ok := strings.CutSuffix(nameDestination, "."+routingKey)
	if !ok {
		return "", false
	}
	if exchange == "default" {
		return "", true
	}
	return exchange, true
}
