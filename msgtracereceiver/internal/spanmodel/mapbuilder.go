package spanmodel

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// buildAttrs writes the attributes of a span or link with an
// xpdata.MapBuilder instead of the Put family, which looks every key up in
// the map first. The keys are distinct by construction: the template's
// (destination, operation, consumer group), the message's own (IDs, body
// size, the source's system-specific ones) and baggage.<key>. Only baggage
// can repeat a key; then its members are put one by one (the last value
// wins, as with putBaggage). tmpl is nil for a batch span's links. mb is
// empty, and is again on return.
func buildAttrs(mb *xpdata.MapBuilder, attrs pcommon.Map, tmpl *destTemplate, m *message.Message, o *origin, members []baggage.Member) {
	n := messageAttrs(m) + len(members)
	if tmpl != nil {
		n += tmpl.attrs.Len()
	}
	mb.EnsureCapacity(n)
	if tmpl != nil {
		for k, v := range tmpl.attrs.All() {
			v.CopyTo(mb.AppendEmpty(k))
		}
	}
	if o.id != "" {
		mb.AppendEmpty(string(semconv.MessagingMessageIDKey)).SetStr(o.id)
	}
	if o.conversationID != "" {
		mb.AppendEmpty(string(semconv.MessagingMessageConversationIDKey)).SetStr(o.conversationID)
	}
	mb.AppendEmpty(string(semconv.MessagingMessageBodySizeKey)).SetInt(int64(m.BodySize))
	for _, kv := range m.Attributes {
		setKV(mb.AppendEmpty(string(kv.Key)), kv.Value)
	}
	distinct := distinctKeys(members)
	if distinct {
		for _, mb2 := range members {
			mb.AppendEmpty(baggagePrefix + mb2.Key).SetStr(mb2.Value)
		}
	}
	mb.UnsafeIntoMap(attrs)
	if !distinct {
		putBaggage(attrs, members)
	}
}

// distinctKeys reports whether no two members share a key. Baggage is
// short (a handful of members), so the quadratic scan is cheaper than a map.
func distinctKeys(members []baggage.Member) bool {
	for i := 1; i < len(members); i++ {
		for j := range i {
			if members[i].Key == members[j].Key {
				return false
			}
		}
	}
	return true
}

// setKV sets v, an otel attribute value, on a pdata value; putKV's
// counterpart for a value that already has its key.
func setKV(dst pcommon.Value, v attribute.Value) {
	switch v.Type() {
	case attribute.STRING:
		dst.SetStr(v.AsString())
	case attribute.INT64:
		dst.SetInt(v.AsInt64())
	case attribute.BOOL:
		dst.SetBool(v.AsBool())
	case attribute.FLOAT64:
		dst.SetDouble(v.AsFloat64())
	case attribute.STRINGSLICE:
		s := dst.SetEmptySlice()
		for _, e := range v.AsStringSlice() {
			s.AppendEmpty().SetStr(e)
		}
	case attribute.INT64SLICE:
		s := dst.SetEmptySlice()
		for _, e := range v.AsInt64Slice() {
			s.AppendEmpty().SetInt(e)
		}
	case attribute.BOOLSLICE:
		s := dst.SetEmptySlice()
		for _, e := range v.AsBoolSlice() {
			s.AppendEmpty().SetBool(e)
		}
	case attribute.FLOAT64SLICE:
		s := dst.SetEmptySlice()
		for _, e := range v.AsFloat64Slice() {
			s.AppendEmpty().SetDouble(e)
		}
	default:
		dst.SetStr(v.Emit())
	}
}
