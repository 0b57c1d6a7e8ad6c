// Package baggage parses W3C Baggage headers as they arrive on messages.
//
// The parser never fails as a whole: every well-formed member is kept in
// header order and every problem is counted in Faults, so a message with a
// damaged header still yields its span and the damage is visible in metrics.
package baggage

import (
	"net/url"
	"strings"
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
	// KeepProperties keeps the raw properties after the first ';' of a member.
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
	BadEncoding    int // members with an invalid percent-escape (skipped)
	MemberTooLong  int // members over MaxMemberBytes (skipped)
	TooManyMembers int // members past MaxMembers (dropped)
	Truncated      bool
}

// Any reports whether any fault was found.
func (f Faults) Any() bool {
	return f.Malformed+f.BadEncoding+f.MemberTooLong+f.TooManyMembers > 0 || f.Truncated
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
		m, ok, badEnc := parseMember(raw, opts)
		switch {
		case badEnc:
			faults.BadEncoding++
		case !ok:
			faults.Malformed++
		default:
			out = append(out, m)
		}
	}
	return out, faults
}

func parseMember(raw string, opts Options) (m Member, ok, badEncoding bool) {
	kv, props, hasProps := strings.Cut(raw, ";")
	k, v, found := strings.Cut(kv, "=")
	if !found {
		return Member{}, false, false
	}
	k, v = trimOWS(k), trimOWS(v)
	if !isToken(k) || !validValueOctets(v) {
		return Member{}, false, false
	}
	if opts.PlusAsSpace && strings.IndexByte(v, '+') >= 0 {
		v = strings.ReplaceAll(v, "+", " ")
	}
	if strings.IndexByte(v, '%') >= 0 {
		dec, err := url.PathUnescape(v)
		if err != nil {
			return Member{}, false, true
		}
		v = dec
	}
	m = Member{Key: k, Value: v}
	if hasProps && opts.KeepProperties {
		m.Properties = trimOWS(props)
	}
	return m, true, false
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
