package spanmodel

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// putDestination writes what a span says about the operation and where it
// happened: the attributes a batch span shares with its messages.
func putDestination(attrs pcommon.Map, m *message.Message, opType attribute.KeyValue, opName string) {
	attrs.PutStr(string(semconv.MessagingSystemKey), m.System)
	putKV(attrs, opType)
	attrs.PutStr(string(semconv.MessagingOperationNameKey), opName)
	attrs.PutStr(string(semconv.MessagingDestinationNameKey), m.Destination)
	if m.Partition != "" {
		attrs.PutStr(string(semconv.MessagingDestinationPartitionIDKey), m.Partition)
	}
	if m.ServerAddress != "" {
		attrs.PutStr(string(semconv.ServerAddressKey), m.ServerAddress)
		if m.ServerPort > 0 {
			attrs.PutInt(string(semconv.ServerPortKey), int64(m.ServerPort))
		}
	}
}

// destinationAttrs counts what putDestination writes.
func destinationAttrs(m *message.Message) int {
	n := 4
	if m.Partition != "" {
		n++
	}
	if m.ServerAddress != "" {
		n += 2
	}
	return n
}

// messageAttrs counts what putMessage writes.
func messageAttrs(m *message.Message) int {
	n := 1 + len(m.Attributes)
	if m.ID != "" {
		n++
	}
	if m.ConversationID != "" {
		n++
	}
	return n
}

// putMessage writes what is specific to one message: on its spans, or on
// its link in a batch span.
func putMessage(attrs pcommon.Map, m *message.Message, o *origin) {
	if o.id != "" {
		attrs.PutStr(string(semconv.MessagingMessageIDKey), o.id)
	}
	if o.conversationID != "" {
		attrs.PutStr(string(semconv.MessagingMessageConversationIDKey), o.conversationID)
	}
	attrs.PutInt(string(semconv.MessagingMessageBodySizeKey), int64(m.BodySize))
	for _, kv := range m.Attributes {
		putKV(attrs, kv)
	}
}

// putBaggage records baggage members as baggage.<key> attributes; a key
// that appears twice keeps its last value, as W3C propagators do.
func putBaggage(attrs pcommon.Map, members []baggage.Member) {
	for _, mb := range members {
		attrs.PutStr(baggagePrefix+mb.Key, mb.Value)
	}
}

// putKV converts an otel attribute into a pdata one.
func putKV(attrs pcommon.Map, kv attribute.KeyValue) {
	k := string(kv.Key)
	switch v := kv.Value; v.Type() {
	case attribute.STRING:
		attrs.PutStr(k, v.AsString())
	case attribute.INT64:
		attrs.PutInt(k, v.AsInt64())
	case attribute.BOOL:
		attrs.PutBool(k, v.AsBool())
	case attribute.FLOAT64:
		attrs.PutDouble(k, v.AsFloat64())
	case attribute.STRINGSLICE:
		s := attrs.PutEmptySlice(k)
		for _, e := range v.AsStringSlice() {
			s.AppendEmpty().SetStr(e)
		}
	case attribute.INT64SLICE:
		s := attrs.PutEmptySlice(k)
		for _, e := range v.AsInt64Slice() {
			s.AppendEmpty().SetInt(e)
		}
	case attribute.BOOLSLICE:
		s := attrs.PutEmptySlice(k)
		for _, e := range v.AsBoolSlice() {
			s.AppendEmpty().SetBool(e)
		}
	case attribute.FLOAT64SLICE:
		s := attrs.PutEmptySlice(k)
		for _, e := range v.AsFloat64Slice() {
			s.AppendEmpty().SetDouble(e)
		}
	default:
		attrs.PutStr(k, v.Emit())
	}
}
