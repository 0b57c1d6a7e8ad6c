package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
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
	// javaAgentDefaultExchange is how the OpenTelemetry Java agent (1.x, and 2.x without
	// messaging/dup) writes the default exchange in messaging.destination.name and span names.
	javaAgentDefaultExchange = "<default>"
)

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

// scan is what one pass over the attributes of a span or data point found.
type scan struct {
	// renames are the deprecated keys present, in attribute order, as their renames; positions
	// holds their indexes in the attributes.
	renames   []*renames.Attribute
	positions []int
	// oldValue: messaging.operation.type holds a deprecated value (publish, deliver).
	oldValue bool
	// messaging: some messaging.* key is present.
	messaging bool
	// hasErrorType: error.type is present.
	hasErrorType bool
}

// scanBuffers back the slices of a scan on the caller's stack.
type scanBuffers struct {
	renames   [16]*renames.Attribute
	positions [16]int
}

// old reports whether the attributes follow deprecated conventions.
func (s *scan) old() bool { return len(s.renames) > 0 || s.oldValue }

// isMessaging is strings.HasPrefix(k, "messaging."), spelled so the compiler compares words.
func isMessaging(k string) bool { return len(k) > 10 && k[:10] == messagingPrefix }

// scanAttributes reads attrs once: deprecated messaging keys (looked up in the rename table) and
// the facts migration needs. It neither writes nor allocates (up to 16 deprecated keys). facts is
// separate from the scan so that the strings read from it do not make buf escape.
func (p *semconvProcessor) scanAttributes(attrs pcommon.Map, sig renames.Signal, buf *scanBuffers, f *facts) scan {
	s := scan{renames: buf.renames[:0], positions: buf.positions[:0]}
	i := -1
	for k, v := range attrs.All() {
		i++
		if !isMessaging(k) {
			if k == keyErrorType {
				s.hasErrorType = true
			}
			continue
		}
		s.messaging = true
		if slot := factSlotOf(k); slot != noFact {
			f.set(slot, v)
			if slot == factOpType && v.Type() == pcommon.ValueTypeStr {
				_, s.oldValue = p.idx.OperationValue(v.Str())
			}
			continue
		}
		if a, deprecated := p.idx.Attribute(sig, k); deprecated {
			s.renames = append(s.renames, a)
			s.positions = append(s.positions, i)
			if slot := factSlotOf(a.To); slot != noFact {
				f.setRenamed(slot, v, a)
			}
		}
	}
	return s
}

// factSlot names an attribute migrateSpan reads.
type factSlot int

const (
	factSystem factSlot = iota
	factOpType
	factOpName
	factDestName
	factTemplate
	factRoutingKey
	factTemporary
	factAnonymous
	numFacts
	noFact factSlot = -1
)

func factSlotOf(key string) factSlot {
	switch key {
	case keySystem:
		return factSystem
	case keyOperationType:
		return factOpType
	case keyOperationName:
		return factOpName
	case keyDestinationName:
		return factDestName
	case keyDestinationTemplate:
		return factTemplate
	case keyRoutingKey:
		return factRoutingKey
	case keyDestinationTemp:
		return factTemporary
	case keyDestinationAnon:
		return factAnonymous
	default:
		return noFact
	}
}

// facts are the values of the fact attributes as they will be once the renames are applied: a
// key that is present keeps its value, a missing one takes the value of the first deprecated key
// renamed into it.
type facts struct {
	present, renamed [numFacts]bool
	str              [numFacts]string // string values ("" when not a string)
	isStr            [numFacts]bool
	boolean          [numFacts]bool // true when a boolean true
}

func (f *facts) set(slot factSlot, v pcommon.Value) {
	if f.present[slot] {
		return
	}
	f.present[slot] = true
	f.isStr[slot] = v.Type() == pcommon.ValueTypeStr
	f.str[slot] = strValue(v)
	f.boolean[slot] = v.Type() == pcommon.ValueTypeBool && v.Bool()
}

// setRenamed records the value a deprecated key brings to slot through rename a, as the rename
// will write it (converted to a string when a.ToType says so). The first such key wins.
func (f *facts) setRenamed(slot factSlot, v pcommon.Value, a *renames.Attribute) {
	if f.present[slot] || f.renamed[slot] {
		return
	}
	f.renamed[slot] = true
	f.isStr[slot] = v.Type() == pcommon.ValueTypeStr
	f.str[slot] = strValue(v)
	if a.ToType == "string" && !f.isStr[slot] {
		f.isStr[slot], f.str[slot] = true, v.AsString()
	}
	f.boolean[slot] = v.Type() == pcommon.ValueTypeBool && v.Bool()
}

func (f *facts) has(slot factSlot) bool { return f.present[slot] || f.renamed[slot] }

// applyRenames applies the renames found by scanAttributes, then renames a deprecated value of
// messaging.operation.type.
//
// A value moves to its new key, converted to a string when the registry types the new key as
// string (messaging.kafka.destination.partition, an int, becomes messaging.destination.partition.id).
// When the new key is already set, its value wins and the deprecated key is dropped. keepOld
// keeps the deprecated keys (duplicate mode). A rename without a new key (To "", an attribute
// semconv removed, with removed_attributes: drop) drops its key in both modes.
//
// pdata has no key rename and its removes and inserts are linear, so in replace mode the values
// move out to the workspace in one pass, the deprecated keys go in one RemoveIf pass, and the new
// keys reuse the freed slots: the attribute slice does not grow.
func (p *semconvProcessor) applyRenames(attrs pcommon.Map, s *scan, f *facts, keepOld bool, work *workspace) {
	switch {
	case len(s.renames) == 0:
	case len(s.renames) == 1 && !keepOld:
		// One key (FastStream's publish spans): in place. The insert takes the slot the caller
		// reserved or grows the slice, the remove moves it into the old key's slot.
		a := s.renames[0]
		if a.To != "" {
			if dst, exists := attrs.GetOrPutEmpty(a.To); !exists {
				src, _ := attrs.Get(a.From) // after the insert, which may have moved the backing array
				src.MoveTo(dst)
				convert(dst, a)
			}
		}
		attrs.Remove(a.From)
	case keepOld:
		drops := false
		for _, a := range s.renames {
			if a.To == "" {
				drops = true
				continue
			}
			dst, exists := attrs.GetOrPutEmpty(a.To)
			if exists {
				continue
			}
			src, _ := attrs.Get(a.From) // after the insert, which may have moved the backing array
			src.CopyTo(dst)
			convert(dst, a)
		}
		if drops {
			// A removed attribute has no new name to keep it beside: it goes in both modes.
			for _, a := range s.renames {
				if a.To == "" {
					attrs.Remove(a.From)
				}
			}
		}
	default:
		vals := work.values(len(s.renames))
		i, j := -1, 0
		for _, v := range attrs.All() {
			i++
			if j < len(s.positions) && s.positions[j] == i {
				v.MoveTo(vals[j])
				j++
			}
		}
		i, j = -1, 0
		attrs.RemoveIf(func(string, pcommon.Value) bool {
			i++
			if j < len(s.positions) && s.positions[j] == i {
				j++
				return true
			}
			return false
		})
		for j, a := range s.renames {
			if a.To == "" {
				continue // removed from semconv: dropped
			}
			if dst, exists := attrs.GetOrPutEmpty(a.To); !exists {
				vals[j].MoveTo(dst)
				convert(dst, a)
			}
		}
	}
	if s.oldValue || f.renamed[factOpType] {
		if v, ok := attrs.Get(keyOperationType); ok && v.Type() == pcommon.ValueTypeStr {
			if to, deprecated := p.idx.OperationValue(v.Str()); deprecated {
				v.SetStr(to)
			}
		}
	}
}

// convert turns a renamed value into a string when the registry types its new key as string.
func convert(v pcommon.Value, a *renames.Attribute) {
	if a.ToType == "string" && v.Type() != pcommon.ValueTypeStr {
		v.SetStr(v.AsString())
	}
}

// workspace is the scratch state of one processTraces or processMetrics call, made on first use
// so that batches with nothing to migrate allocate nothing.
type workspace struct {
	vals []pcommon.Value
}

// values returns n empty values to hold attribute values between two passes of applyRenames.
func (w *workspace) values(n int) []pcommon.Value {
	for len(w.vals) < n {
		w.vals = append(w.vals, pcommon.NewValueEmpty())
	}
	return w.vals[:n]
}

// str returns the string value of key, "" when absent or not a string.
func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok {
		return strValue(v)
	}
	return ""
}

func strValue(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

func has(attrs pcommon.Map, key string) bool {
	_, ok := attrs.Get(key)
	return ok
}
