package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"strings"
)

// oldSpanName splits a span name of an old messaging form: "<destination> <action>" (semconv up
// to 1.23: FastStream's "orders publish", otelsarama's "orders receive", kotel's "orders process",
// the Java agent 1.x's "orders process"), "<action> <destination>" (1.24 and 1.25, kafkajs and the
// Java agent 2.x: "publish orders") or a bare "<action>". action must be an operation word
// (create, send, receive, process, settle, or the deprecated publish and deliver); op is its 1.44
// messaging.operation.type. The destination may contain spaces. Placeholders give no destination:
// old conventions wrote temporary and anonymous destinations as "(temporary)" and "(anonymous)", and
// the Java agent names a span "unknown" when the destination is not one topic (a poll over several),
// "<default>" for RabbitMQ's default exchange and "<generated>" for a server-named queue.
func (p *semconvProcessor) oldSpanName(name string) (destination, op string, ok bool) {
	if op, ok = p.idx.Operation(name); ok {
		return "", op, true
	}
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		if op, ok = p.idx.Operation(name[i+1:]); ok {
			return nameDestination(name[:i]), op, true
		}
	}
	if i := strings.IndexByte(name, ' '); i > 0 && i < len(name)-1 {
		if op, ok = p.idx.Operation(name[:i]); ok {
			return nameDestination(name[i+1:]), op, true
		}
	}
	return "", "", false
}

// nameDestination is the destination of an old span name, "" for a placeholder (see oldSpanName).
func nameDestination(d string) string {
	switch d {
	case "(temporary)", "(anonymous)", "unknown", javaAgentDefaultExchange, "<generated>":
		return ""
	default:
		return d
	}
}

// nameAgrees reports whether name is "{opName} {destination}", or opName when destination is "",
// without building that string.
func nameAgrees(name, opName, destination string) bool {
	if destination == "" {
		return name == opName
	}
	return len(name) == len(opName)+1+len(destination) && name[len(opName)] == ' ' &&
		name[:len(opName)] == opName && name[len(opName)+1:] == destination
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
