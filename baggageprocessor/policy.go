package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// dropReason says why the policy removed an entry; keepEntry keeps it. The
// names are the values of the `reason` attribute of entries_dropped.
type dropReason uint8

const (
	keepEntry dropReason = iota
	reasonExcluded
	reasonNotIncluded
	reasonBatchMarker
	reasonValueTooLong
	reasonMaxEntries
	reasonMaxTotalBytes
	numReasons
)

var reasonNames = [numReasons]string{"", "excluded", "not_included", "batch_marker", "value_too_long", "max_entries", "max_total_bytes"}

// keyDecision is what the policy does with every entry of one key.
type keyDecision struct {
	drop   dropReason
	redact bool
}

// policy is the compiled form of the include/exclude/redact/limit settings.
type policy struct {
	keepMarker       bool
	include, exclude keyMatcher
	redact           keyMatcher
	// plain is set when no include, exclude or redact key is configured:
	// only the batch marker rule is left, checked without a call.
	plain bool
	// cacheDecisions is set when a regular expression is involved: a batch
	// repeats the same few keys on every link, so each key is matched once
	// per request rather than once per entry.
	cacheDecisions bool
	maxEntries     int
	maxValueBytes  int
	maxTotalBytes  int
}

func newPolicy(cfg *Config) (policy, error) {
	p := policy{
		keepMarker:    cfg.KeepBatchMarker,
		maxEntries:    cfg.MaxEntries,
		maxValueBytes: cfg.MaxValueBytes,
		maxTotalBytes: cfg.MaxTotalBytes,
	}
	var err error
	if p.include, err = newKeyMatcher(cfg.Include); err != nil {
		return p, err
	}
	if p.exclude, err = newKeyMatcher(cfg.Exclude); err != nil {
		return p, err
	}
	if p.redact, err = newKeyMatcher(cfg.Redact.Keys); err != nil {
		return p, err
	}
	p.plain = p.include.empty() && p.exclude.empty() && p.redact.empty()
	p.cacheDecisions = p.include.hasRegexps() || p.exclude.hasRegexps() || p.redact.hasRegexps()
	return p, nil
}

func (p *policy) decide(key string) keyDecision {
	switch {
	case !p.keepMarker && key == batchMarker:
		return keyDecision{drop: reasonBatchMarker}
	case !p.exclude.empty() && p.exclude.matches(key):
		return keyDecision{drop: reasonExcluded}
	case !p.include.empty() && !p.include.matches(key):
		return keyDecision{drop: reasonNotIncluded}
	case !p.redact.empty():
		return keyDecision{redact: p.redact.matches(key)}
	}
	return keyDecision{}
}

// decide looks the key's decision up in the request's cache when matching
// may be costly.
func (st *state) decide(p *policy, key string) keyDecision {
	if !p.cacheDecisions {
		return p.decide(key)
	}
	if d, ok := st.decisions[key]; ok {
		return d
	}
	d := p.decide(key)
	st.decisions[key] = d
	return d
}

// admit applies the key and value rules to one entry and returns the value
// to keep (redacted where the policy says so).
func (st *state) admit(p *policy, r *redactor, key, value string) (string, bool) {
	if key == "" {
		st.counts.faults[faultEmptyKey]++
		return "", false
	}
	var d keyDecision
	switch {
	case !p.plain:
		d = st.decide(p, key)
	case !p.keepMarker && key == batchMarker:
		d.drop = reasonBatchMarker
	}
	if d.drop != keepEntry {
		st.counts.dropped[d.drop]++
		return "", false
	}
	if p.maxValueBytes > 0 && len(value) > p.maxValueBytes {
		st.counts.dropped[reasonValueTooLong]++
		return "", false
	}
	if d.redact {
		st.counts.redacted++
		return st.redact(r, value), true
	}
	return value, true
}

// admitAttr is admit for an attribute value; inPlace writes the result back
// into the attribute (a redacted value, or a non-string value as a string).
func (st *state) admitAttr(p *policy, r *redactor, key string, v pcommon.Value, inPlace bool) (string, bool) {
	var s string
	if v.Type() == pcommon.ValueTypeStr {
		s = v.Str()
	} else {
		// Baggage values are strings on the wire; an SDK that copied one as
		// a number or a bool is normalized so the span and the links agree.
		s = v.AsString()
		if inPlace {
			v.SetStr(s)
		}
	}
	out, ok := st.admit(p, r, key, s)
	if ok && inPlace && out != s {
		v.SetStr(out)
	}
	return out, ok
}

// fits applies max_entries and max_total_bytes to the entries of one span
// or link, taken in order (the span's own before its links'): it reports
// whether the entry still fits and, if so, counts it in kept and keptBytes.
// An entry that would cross max_total_bytes is dropped and a later, smaller
// one may still fit. Sizes are len(key)+len(value) as written, so a redacted
// value counts with its hash.
func (st *state) fits(p *policy, kept, keptBytes *int, key, value string) bool {
	size := len(key) + len(value)
	switch {
	case p.maxEntries > 0 && *kept >= p.maxEntries:
		st.counts.dropped[reasonMaxEntries]++
		return false
	case p.maxTotalBytes > 0 && *keptBytes+size > p.maxTotalBytes:
		st.counts.dropped[reasonMaxTotalBytes]++
		return false
	}
	*kept++
	*keptBytes += size
	return true
}
