package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

// The attribute keys the processor reads or writes beyond the generated renames. Messaging did
// not change between semconv 1.41.0 (the newest Go package of otel v1.44.0) and 1.44.0.
const (
	messagingPrefix        = "messaging."
	keySystem              = string(semconv.MessagingSystemKey)
	keyOperationType       = string(semconv.MessagingOperationTypeKey)
	keyOperationName       = string(semconv.MessagingOperationNameKey)
	keyDestinationName     = string(semconv.MessagingDestinationNameKey)
	keyDestinationTemplate = string(semconv.MessagingDestinationTemplateKey)
	keyDestinationTemp     = string(semconv.MessagingDestinationTemporaryKey)
	keyDestinationAnon     = string(semconv.MessagingDestinationAnonymousKey)
	keyPartitionID         = string(semconv.MessagingDestinationPartitionIDKey)
	keyRoutingKey          = string(semconv.MessagingRabbitMQDestinationRoutingKeyKey)
	keyErrorType           = string(semconv.ErrorTypeKey)
	keyExceptionType       = string(semconv.ExceptionTypeKey)
	systemRabbitMQ         = "rabbitmq"
	eventException         = "exception"
	// rabbitMQDefaultExchange is the 1.44 destination of a RabbitMQ message sent to the default
	// exchange without a routing key.
	rabbitMQDefaultExchange = "amq.default"
)

var errorTypeOther = semconv.ErrorTypeOther.Value.AsString()

// codeRenames are the renames the schema file cannot express, because the old attributes were
// removed rather than renamed: the consume side of semconv 1.17 to 1.20 named its destination
// messaging.source.* (1.21 folded it into messaging.destination.*), and 1.21 to 1.24 had
// messaging.destination_publish.* (FastStream still sends it on consume spans). Like every rename,
// they fill the new key when it is missing; a value already there wins.
func codeRenames() []renames.Attribute {
	both := renames.Spans | renames.Metrics
	return []renames.Attribute{
		{From: "messaging.source.name", To: keyDestinationName, ToType: "string", Signals: both},
		{From: "messaging.source.template", To: keyDestinationTemplate, ToType: "string", Signals: both},
		{From: "messaging.source.temporary", To: keyDestinationTemp, ToType: "boolean", Signals: both},
		{From: "messaging.source.anonymous", To: keyDestinationAnon, ToType: "boolean", Signals: both},
		{From: "messaging.kafka.source.partition", To: keyPartitionID, ToType: "string", Signals: both},
		{From: "messaging.destination_publish.name", To: keyDestinationName, ToType: "string", Signals: both},
		{From: "messaging.destination_publish.anonymous", To: keyDestinationAnon, ToType: "boolean", Signals: both},
	}
}

// needsMigration reports whether attrs carry a deprecated messaging attribute or a deprecated
// messaging.operation.type value. It reads keys only (no allocation) and stops at the first hit.
// messaging says whether any messaging.* key was seen, opName whether messaging.operation.name was.
func (p *semconvProcessor) needsMigration(attrs pcommon.Map, sig renames.Signal) (old, messaging, opName bool) {
	for k, v := range attrs.All() {
		if !strings.HasPrefix(k, messagingPrefix) {
			continue
		}
		messaging = true
		switch k {
		case keyOperationName:
			opName = true
		case keyOperationType:
			if v.Type() == pcommon.ValueTypeStr {
				if _, deprecated := p.idx.Value(keyOperationType, v.Str()); deprecated {
					return true, true, opName
				}
			}
		default:
			if _, deprecated := p.idx.Attribute(sig, k); deprecated {
				return true, true, opName
			}
		}
	}
	return false, messaging, opName
}

// renameAttributes applies the renames of sig to attrs, then renames deprecated values of
// messaging.operation.type. keepOld keeps the old keys beside the new ones (duplicate mode).
// scratch is an empty value the caller owns; it carries a value between removing the old key and
// adding the new one, so the attribute slice is reused instead of grown.
func (p *semconvProcessor) renameAttributes(attrs pcommon.Map, sig renames.Signal, keepOld bool, scratch pcommon.Value) {
	// Collect first: renaming while ranging over the map would skip or revisit entries.
	var buf [16]renames.Attribute
	found := buf[:0]
	for k := range attrs.All() {
		if !strings.HasPrefix(k, messagingPrefix) {
			continue
		}
		if a, ok := p.idx.Attribute(sig, k); ok {
			found = append(found, a)
		}
	}
	for _, a := range found {
		renameAttribute(attrs, a, keepOld, scratch)
	}
	if v, ok := attrs.Get(keyOperationType); ok && v.Type() == pcommon.ValueTypeStr {
		if to, deprecated := p.idx.Value(keyOperationType, v.Str()); deprecated {
			v.SetStr(to)
		}
	}
}

// renameAttribute moves the value of a.From to a.To, converted to a string when the registry
// types a.To as string (messaging.kafka.destination.partition, an int, becomes
// messaging.destination.partition.id). When a.To is already set, that value wins. keepOld keeps
// a.From.
func renameAttribute(attrs pcommon.Map, a renames.Attribute, keepOld bool, scratch pcommon.Value) {
	src, ok := attrs.Get(a.From)
	if !ok {
		return
	}
	if _, exists := attrs.Get(a.To); exists {
		if !keepOld {
			attrs.Remove(a.From)
		}
		return
	}
	var dst pcommon.Value
	if keepOld {
		src.CopyTo(scratch)
		dst = attrs.PutEmpty(a.To)
	} else {
		src.MoveTo(scratch)
		attrs.Remove(a.From) // frees the slot PutEmpty takes
		dst = attrs.PutEmpty(a.To)
	}
	scratch.MoveTo(dst)
	if a.ToType == "string" && dst.Type() != pcommon.ValueTypeStr {
		dst.SetStr(dst.AsString())
	}
}

// str returns the string value of key, "" when absent or not a string.
func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

func isTrue(attrs pcommon.Map, key string) bool {
	v, ok := attrs.Get(key)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}

func has(attrs pcommon.Map, key string) bool {
	_, ok := attrs.Get(key)
	return ok
}
