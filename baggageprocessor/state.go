package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"hash"

	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
)

// origin ranks where an entry of a span's baggage came from; a lower origin
// is never overwritten by a higher one.
type origin uint8

const (
	// ownAttr: a "<prefix><key>" attribute of the span (or of the link,
	// while a link is read).
	ownAttr origin = iota
	// ownRaw: the raw W3C string attribute of the span (or of the link).
	ownRaw
	// fromLink: merged from a link, ranked among links by on_conflict.
	fromLink
	// fromRequest: the request metadata, a default for every span.
	fromRequest
)

// entry is one baggage entry while a span is being processed.
type entry struct {
	// attrKey is "<prefix><key>", reused from the attribute it was read
	// from; empty when it has to be built (entries parsed from strings).
	attrKey string
	key     string
	value   string
	origin  origin
	dropped bool
}

// entryList is an ordered set of entries, unique by key. Baggage is short
// (a handful of keys per message), so keys are searched linearly until the
// list grows past linearMax; only then is a map index built.
type entryList struct {
	entries []entry
	index   map[string]int // valid when indexed
	indexed bool
}

const linearMax = 16

func (l *entryList) reset() {
	l.entries = l.entries[:0]
	if l.indexed {
		if len(l.index) > maxCachedKeys {
			l.index = nil // do not keep a huge map across requests
		} else {
			clear(l.index)
		}
		l.indexed = false
	}
}

func (l *entryList) find(key string) int {
	if l.indexed {
		if i, ok := l.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range l.entries {
		if l.entries[i].key == key {
			return i
		}
	}
	return -1
}

// add puts e in the list. An existing entry of a lower origin wins; between
// equal origins, rule decides. A replaced entry keeps its position, so the
// output order is that of first appearance.
func (l *entryList) add(e entry, rule baggage.Conflict) {
	i := l.find(e.key)
	if i < 0 {
		l.appendNew(e)
		return
	}
	cur := &l.entries[i]
	if cur.origin < e.origin || cur.origin == e.origin && rule == baggage.FirstWins {
		return
	}
	// Same key, so the same attribute key: only the value and its origin change.
	cur.value, cur.origin = e.value, e.origin
	if cur.attrKey == "" {
		cur.attrKey = e.attrKey
	}
}

// appendNew appends an entry whose key is not in the list yet (the
// attributes of one pcommon.Map), saving the search.
func (l *entryList) appendNew(e entry) {
	l.entries = append(l.entries, e)
	switch {
	case l.indexed:
		l.index[e.key] = len(l.entries) - 1
	case len(l.entries) > linearMax:
		if l.index == nil {
			l.index = make(map[string]int, 2*len(l.entries))
		}
		for j := range l.entries {
			l.index[l.entries[j].key] = j
		}
		l.indexed = true
	}
}

// members returns the kept entries of one origin as W3C members, to rewrite
// the raw attribute they were read from.
func (l *entryList) members(o origin) []baggage.Member {
	out := make([]baggage.Member, 0, len(l.entries))
	for _, e := range l.entries {
		if !e.dropped && e.origin == o {
			out = append(out, baggage.Member{Key: e.key, Value: e.value})
		}
	}
	return out
}

// state is the scratch space of one request, pooled so that the per-span
// path allocates nothing it does not hand to pdata.
type state struct {
	span entryList // the baggage of the span being processed
	link entryList // the raw baggage string of the link being read
	// linkKeys are the baggage attribute keys of the link being read.
	linkKeys []string
	request  []entry  // the request metadata's baggage, after the policy
	remove   []string // attribute keys to remove from the current holder

	decisions map[string]keyDecision // per-key policy results, when regexps are configured
	hashes    map[string]string      // value -> redacted value
	mac       hash.Hash
	buf       []byte

	counts counts
}

func newState() *state {
	return &state{
		decisions: make(map[string]keyDecision),
		hashes:    make(map[string]string),
	}
}

// maxCachedKeys bounds the per-request caches kept across requests: keys and
// values come from the wire, and a map only grows.
const maxCachedKeys = 4096

func (st *state) reset() {
	st.request = st.request[:0]
	st.counts = counts{}
	if len(st.decisions) > maxCachedKeys {
		st.decisions = make(map[string]keyDecision)
	} else {
		clear(st.decisions)
	}
	if len(st.hashes) > maxCachedKeys {
		st.hashes = make(map[string]string)
	} else {
		clear(st.hashes)
	}
}
