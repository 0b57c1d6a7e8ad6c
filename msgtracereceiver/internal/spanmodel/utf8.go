package spanmodel

import (
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// replacement stands for each run of invalid bytes, as strings.ToValidUTF8
// writes it.
const replacement = "\uFFFD"

// repairUTF8 is the one place where wire strings are made valid UTF-8:
// OTLP strings must be, and a strict protobuf decoder rejects a whole
// export request for one bad byte. It covers every string of a Message that
// becomes a span name or attribute (destination, partition, IDs, consumer
// group, server address and the system-specific attributes such as a
// RabbitMQ routing key or a Kafka key); trace context and baggage have
// parsers of their own that reject bad bytes. Each message with a repair
// counts one header fault. msgs is returned as is when nothing needs
// repair, else a copy: a source may reuse its slice.
func (b *Builder) repairUTF8(msgs []message.Message, f *Faults) []message.Message {
	var out []message.Message
	for i := range msgs {
		if validMessage(&msgs[i]) {
			continue
		}
		if out == nil {
			out = slices.Clone(msgs)
		}
		f.Header++
		b.debug("message strings are not UTF-8, invalid bytes replaced", &msgs[i])
		repairMessage(&out[i])
	}
	if out == nil {
		return msgs
	}
	return out
}

func validMessage(m *message.Message) bool {
	if !utf8.ValidString(m.Destination) || !utf8.ValidString(m.Partition) || !utf8.ValidString(m.ID) ||
		!utf8.ValidString(m.ConversationID) || !utf8.ValidString(m.ConsumerGroup) || !utf8.ValidString(m.ServerAddress) {
		return false
	}
	for _, kv := range m.Attributes {
		if !validKV(kv) {
			return false
		}
	}
	return true
}

func validKV(kv attribute.KeyValue) bool {
	if !utf8.ValidString(string(kv.Key)) {
		return false
	}
	switch kv.Value.Type() {
	case attribute.STRING:
		return utf8.ValidString(kv.Value.AsString())
	case attribute.STRINGSLICE:
		for _, s := range kv.Value.AsStringSlice() {
			if !utf8.ValidString(s) {
				return false
			}
		}
	}
	return true
}

// repairMessage replaces invalid bytes in m's strings; m.Attributes gets a
// slice of its own (the original may be shared with the source).
func repairMessage(m *message.Message) {
	for _, s := range []*string{&m.Destination, &m.Partition, &m.ID, &m.ConversationID, &m.ConsumerGroup, &m.ServerAddress} {
		*s = strings.ToValidUTF8(*s, replacement)
	}
	if len(m.Attributes) == 0 {
		return
	}
	attrs := make([]attribute.KeyValue, len(m.Attributes))
	for i, kv := range m.Attributes {
		attrs[i] = repairKV(kv)
	}
	m.Attributes = attrs
}

func repairKV(kv attribute.KeyValue) attribute.KeyValue {
	if validKV(kv) {
		return kv
	}
	key := attribute.Key(strings.ToValidUTF8(string(kv.Key), replacement))
	switch kv.Value.Type() {
	case attribute.STRING:
		return key.String(strings.ToValidUTF8(kv.Value.AsString(), replacement))
	case attribute.STRINGSLICE:
		ss := kv.Value.AsStringSlice() // a copy
		for i := range ss {
			ss[i] = strings.ToValidUTF8(ss[i], replacement)
		}
		return key.StringSlice(ss)
	}
	return attribute.KeyValue{Key: key, Value: kv.Value}
}
