// Package baggage parses W3C Baggage headers as they arrive on messages.
//
// The parser never fails as a whole: every well-formed member is kept in
// header order and every problem is counted in Faults, so a message with a
// damaged header still yields its span and the damage is visible in metrics.
package baggage

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Limits bound what one header may make the gateway keep. The defaults are
// those of the W3C spec and the OpenTelemetry SDKs.
type Limits struct {
	MaxMembers     int // list members kept; further ones are dropped
	MaxMemberBytes int // bytes of one encoded member
	MaxTotalBytes  int // bytes of the header read; the rest is dropped
}

// DefaultLimits are the W3C / OTel SDK limits.
var DefaultLimits = Limits{MaxMembers: 180, MaxMemberBytes: 4096, MaxTotalBytes: 8192}

// Options control decoding.
type Options struct {
	Limits Limits
	// KeepProperties keeps the raw properties after the first ';' of a member
	// (still percent-encoded, as W3C property values are). Malformed
	// properties are never kept: the member is, without them.
	KeepProperties bool
	// PlusAsSpace decodes '+' as a space. OpenTelemetry Python (and so
	// FastStream) encodes values with quote_plus, so a space arrives as '+'.
	PlusAsSpace bool
}

// DefaultOptions fit what FastStream and the OTel SDKs write.
var DefaultOptions = Options{Limits: DefaultLimits, PlusAsSpace: true}

// Member is one baggage entry.
type Member struct {
	Key   string
	Value string
	// Properties holds the raw text after the first ';', when kept.
	Properties string
}

// Faults counts what was wrong with a header. Zero means a clean header.
type Faults struct {
	Malformed      int // members that break the grammar (skipped)
	BadEncoding    int // members with an invalid percent-escape or a value that is not UTF-8 once decoded (skipped)
	MemberTooLong  int // members over MaxMemberBytes (skipped)
	TooManyMembers int // members past MaxMembers (dropped)
	Truncated      bool
	// BadProperties counts members kept without their properties because
	// the text after ';' breaks the property grammar.
	BadProperties int
}

// Any reports whether any fault was found.
func (f Faults) Any() bool {
	return f.Malformed+f.BadEncoding+f.MemberTooLong+f.TooManyMembers+f.BadProperties > 0 || f.Truncated
}

// Add returns the sum of two fault counts, for callers that total the faults
// of several headers (a batch of messages).
func (f Faults) Add(o Faults) Faults {
	return Faults{
		Malformed:      f.Malformed + o.Malformed,
		BadEncoding:    f.BadEncoding + o.BadEncoding,
		MemberTooLong:  f.MemberTooLong + o.MemberTooLong,
		TooManyMembers: f.TooManyMembers + o.TooManyMembers,
		Truncated:      f.Truncated || o.Truncated,
		BadProperties:  f.BadProperties + o.BadProperties,
	}
}

// Parse reads a baggage header. Members keep header order; a key that
// appears twice appears twice (callers merge with Merge).
func Parse(header string, opts Options) ([]Member, Faults) {
	var (
		out    []Member
		faults Faults
	)
	lim := opts.Limits
	if lim.MaxTotalBytes > 0 && len(header) > lim.MaxTotalBytes {
		// Cut at the last member boundary inside the limit so that no member
		// is silently shortened.
		cut := strings.LastIndexByte(header[:lim.MaxTotalBytes+1], ',')
		if cut < 0 {
			cut = 0
		}
		header = header[:cut]
		faults.Truncated = true
	}
	for raw := range strings.SplitSeq(header, ",") {
		raw = trimOWS(raw)
		if raw == "" {
			continue
		}
		if lim.MaxMemberBytes > 0 && len(raw) > lim.MaxMemberBytes {
			faults.MemberTooLong++
			continue
		}
		if lim.MaxMembers > 0 && len(out) >= lim.MaxMembers {
			faults.TooManyMembers++
			continue
		}
		m, res := parseMember(raw, opts)
		switch res {
		case memberBadEncoding:
			faults.BadEncoding++
		case memberMalformed:
			faults.Malformed++
		case memberBadProperties:
			faults.BadProperties++
			out = append(out, m)
		default:
			out = append(out, m)
		}
	}
	return out, faults
}

// memberResult is the outcome of parsing one list member.
type memberResult int

const (
	memberOK memberResult = iota
	memberMalformed
	memberBadEncoding
	memberBadProperties // kept, without its properties
)

func parseMember(raw string, opts Options) (Member, memberResult) {
	kv, props, hasProps := strings.Cut(raw, ";")
	k, v, found := strings.Cut(kv, "=")
	if !found {
		return Member{}, memberMalformed
	}
	k, v = trimOWS(k), trimOWS(v)
	if !isToken(k) || !validValueOctets(v) {
		return Member{}, memberMalformed
	}
	if opts.PlusAsSpace && strings.IndexByte(v, '+') >= 0 {
		v = strings.ReplaceAll(v, "+", " ")
	}
	if strings.IndexByte(v, '%') >= 0 {
		dec, err := url.PathUnescape(v)
		if err != nil {
			return Member{}, memberBadEncoding
		}
		v = dec
	}
	// Attribute values end up in OTLP strings, which must be UTF-8.
	if !utf8.ValidString(v) {
		return Member{}, memberBadEncoding
	}
	m := Member{Key: k, Value: v}
	if !hasProps {
		return m, memberOK
	}
	props = trimOWS(props)
	if !validProperties(props) {
		return m, memberBadProperties
	}
	if opts.KeepProperties {
		m.Properties = props
	}
	return m, memberOK
}

// validProperties checks the W3C property list: properties separated by ';',
// each `key OWS "=" OWS value` or a bare `key`.
func validProperties(props string) bool {
	for p := range strings.SplitSeq(props, ";") {
		k, v, hasValue := strings.Cut(p, "=")
		if !isToken(trimOWS(k)) {
			return false
		}
		if hasValue && !validValueOctets(trimOWS(v)) {
			return false
		}
	}
	return true
}

func trimOWS(s string) string { return strings.Trim(s, " \t") }

// isToken checks the RFC 7230 token grammar used for baggage keys.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}', '"':
			return false
		}
	}
	return true
}

// validValueOctets checks baggage-octet: printable ASCII except space, '"',
// ',', ';' and '\'.
func validValueOctets(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}
