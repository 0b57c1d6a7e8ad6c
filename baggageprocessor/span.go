package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
)

// parseOptions read raw baggage strings as the OTel SDKs and FastStream
// write them: W3C limits, '+' as a space, properties dropped (an attribute
// has nowhere to keep them).
var parseOptions = baggage.DefaultOptions

// processSpan applies the policy to a span's baggage and merges its links'
// baggage into it. Precedence, highest first: the span's baggage attributes,
// the span's raw baggage string, its links (in link order, by on_conflict),
// the request metadata.
func (p *baggageProcessor) processSpan(st *state, span ptrace.Span) {
	attrs := span.Attributes()
	links := span.Links()
	if links.Len() == 0 && len(st.request) == 0 && !spanHasBaggage(attrs, p.prefix, p.rawAttr) {
		return
	}
	st.span.reset()
	hadRaw := p.readSpan(st, attrs)

	fromLinks := false
	for i := 0; i < links.Len(); i++ {
		if p.readLink(st, links.At(i).Attributes()) {
			fromLinks = true
		}
	}
	if fromLinks {
		st.counts.batchSpans++
	}
	for _, e := range st.request {
		st.span.add(e, baggage.FirstWins)
	}
	p.writeSpan(st, attrs, hadRaw)
}

// readSpan reads the span's baggage attributes and raw baggage string into
// st.span under the key and value rules: dropped attributes are removed,
// redacted ones rewritten in place, the raw string removed (writeSpan puts
// it back when keep_raw_attribute is set). It reports whether there was a
// raw string.
func (p *baggageProcessor) readSpan(st *state, attrs pcommon.Map) (hadRaw bool) {
	var raw string
	attrs.RemoveIf(func(k string, v pcommon.Value) bool {
		if p.rawAttr != "" && k == p.rawAttr {
			raw, hadRaw = v.AsString(), true
			return true
		}
		if !hasPrefix(k, p.prefix) {
			return false
		}
		key := k[len(p.prefix):]
		value, keep := st.admitAttr(&p.policy, p.redactor, key, v, true)
		if keep {
			// The list is fresh and map keys are unique: no search needed.
			st.span.appendNew(entry{attrKey: k, key: key, value: value, origin: ownAttr})
		}
		return !keep
	})
	if hadRaw {
		members, faults := baggage.Parse(raw, parseOptions)
		st.counts.addFaults(faults)
		for _, m := range members {
			// Within one header the later member wins, as in the SDKs.
			if value, keep := st.admit(&p.policy, p.redactor, m.Key, m.Value); keep {
				st.span.add(entry{key: m.Key, value: value, origin: ownRaw}, baggage.LastWins)
			}
		}
	}
	return hadRaw
}

// readLink applies the policy, including the entry limits, to one link's
// baggage, and merges what it keeps into the span's. The link keeps its
// (redacted, limited) baggage attributes, or loses them all when
// keep_link_baggage is false. It reports whether anything was merged.
//
// This runs for every link of every batch span, so it makes one pass over
// the link's attributes and merges as it goes, without a list of its own.
func (p *baggageProcessor) readLink(st *state, attrs pcommon.Map) bool {
	if attrs.Len() == 0 {
		return false
	}
	var (
		raw                 string
		hadRaw, merged      bool
		kept, keptBytes     int
		keepLinks, linkKeys = p.keepLinks, st.linkKeys[:0]
	)
	attrs.RemoveIf(func(k string, v pcommon.Value) bool {
		if p.rawAttr != "" && k == p.rawAttr {
			raw, hadRaw = v.AsString(), true
			return true
		}
		if !hasPrefix(k, p.prefix) {
			return false
		}
		key := k[len(p.prefix):]
		linkKeys = append(linkKeys, key)
		value, keep := st.admitAttr(&p.policy, p.redactor, key, v, keepLinks)
		if keep && st.fits(&p.policy, &kept, &keptBytes, key, value) {
			st.span.add(entry{attrKey: k, key: key, value: value, origin: fromLink}, p.onConflict)
			merged = true
			return !keepLinks
		}
		return true
	})
	st.linkKeys = linkKeys
	if hadRaw && p.readLinkRaw(st, attrs, raw, &kept, &keptBytes) {
		merged = true
	}
	return merged
}

// readLinkRaw handles a link's raw baggage string, after its attributes: a
// key the link has as an attribute is not read from the string, and the
// link's entry limits carry on from its attributes.
func (p *baggageProcessor) readLinkRaw(st *state, attrs pcommon.Map, raw string, kept, keptBytes *int) bool {
	members, faults := baggage.Parse(raw, parseOptions)
	st.counts.addFaults(faults)
	st.link.reset()
	for _, m := range members {
		if slices.Contains(st.linkKeys, m.Key) {
			continue
		}
		if value, keep := st.admit(&p.policy, p.redactor, m.Key, m.Value); keep {
			st.link.add(entry{key: m.Key, value: value, origin: fromLink}, baggage.LastWins)
		}
	}
	merged := false
	for i := range st.link.entries {
		e := &st.link.entries[i]
		if !st.fits(&p.policy, kept, keptBytes, e.key, e.value) {
			e.dropped = true
			continue
		}
		e.attrKey = p.prefix + e.key
		if p.keepLinks {
			attrs.PutStr(e.attrKey, e.value)
		}
		st.span.add(*e, p.onConflict)
		merged = true
	}
	if p.keepLinks && p.keepRaw {
		attrs.PutStr(p.rawAttr, baggage.Encode(st.link.members(fromLink)))
	}
	return merged
}

// writeSpan applies the entry limits to the span's merged baggage and makes
// its attributes hold exactly the kept entries: limit-dropped attributes are
// removed, entries that are not attributes yet are added, and the raw string
// is rewritten, when configured, with what was kept of it.
func (p *baggageProcessor) writeSpan(st *state, attrs pcommon.Map, hadRaw bool) {
	l := &st.span
	st.remove = st.remove[:0]
	added, kept, keptBytes := 0, 0, 0
	for i := range l.entries {
		e := &l.entries[i]
		if !st.fits(&p.policy, &kept, &keptBytes, e.key, e.value) {
			e.dropped = true
			if e.origin == ownAttr {
				st.remove = append(st.remove, e.attrKey)
			}
			continue
		}
		if e.origin != ownAttr {
			added++
		}
	}
	if len(st.remove) > 0 {
		attrs.RemoveIf(func(k string, _ pcommon.Value) bool { return slices.Contains(st.remove, k) })
	}
	if added > 0 {
		attrs.EnsureCapacity(attrs.Len() + added + 1)
		for i := range l.entries {
			e := &l.entries[i]
			if e.dropped || e.origin == ownAttr {
				continue
			}
			if e.attrKey == "" {
				e.attrKey = p.prefix + e.key
			}
			attrs.PutStr(e.attrKey, e.value)
		}
	}
	if hadRaw && p.keepRaw {
		attrs.PutStr(p.rawAttr, baggage.Encode(l.members(ownRaw)))
	}
}

// spanHasBaggage is the test every span pays: one pass over the attribute
// keys, no allocation.
func spanHasBaggage(attrs pcommon.Map, prefix, raw string) bool {
	found := false
	attrs.Range(func(k string, _ pcommon.Value) bool {
		found = hasPrefix(k, prefix) || raw != "" && len(k) == len(raw) && k[0] == raw[0] && k == raw
		return !found
	})
	return found
}

// hasPrefix is strings.HasPrefix for a non-empty prefix, testing the first
// byte before calling into memequal: almost no attribute key starts like the
// prefix, and this test runs on every attribute of every span.
func hasPrefix(k, prefix string) bool {
	return len(k) >= len(prefix) && k[0] == prefix[0] && k[:len(prefix)] == prefix
}
