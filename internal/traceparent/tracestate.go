package traceparent

import (
	"errors"
	"strings"
)

// Limits of the W3C tracestate header.
const (
	maxTraceStateMembers = 32
	maxTraceStateLen     = 512
	maxKeyLen            = 256
	maxTenantLen         = 241
	maxSystemLen         = 14
	maxValueLen          = 256
)

// ErrTraceState reports a tracestate header that breaks the W3C grammar.
var ErrTraceState = errors.New("tracestate: malformed")

// ParseTraceState validates a tracestate header and returns it normalised
// (empty list members and optional blanks removed). An invalid header is
// dropped as a whole, as the spec asks, and the traceparent still stands.
func ParseTraceState(s string) (string, error) {
	if len(s) > maxTraceStateLen*2 {
		return "", ErrTraceState
	}
	var b strings.Builder
	n := 0
	seen := make(map[string]struct{}, 4)
	for member := range strings.SplitSeq(s, ",") {
		member = strings.Trim(member, " \t")
		if member == "" {
			continue
		}
		key, val, ok := strings.Cut(member, "=")
		if !ok || !validKey(key) || !validValue(val) {
			return "", ErrTraceState
		}
		if _, dup := seen[key]; dup {
			return "", ErrTraceState
		}
		seen[key] = struct{}{}
		n++
		if n > maxTraceStateMembers {
			return "", ErrTraceState
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(member)
	}
	if b.Len() > maxTraceStateLen {
		return "", ErrTraceState
	}
	return b.String(), nil
}

func validKey(k string) bool {
	if tenant, system, multi := strings.Cut(k, "@"); multi {
		return len(tenant) >= 1 && len(tenant) <= maxTenantLen && keyChars(tenant, true) &&
			len(system) >= 1 && len(system) <= maxSystemLen && keyChars(system, false)
	}
	return len(k) >= 1 && len(k) <= maxKeyLen && keyChars(k, false)
}

// keyChars checks lcalpha (lcalpha / DIGIT / "_" / "-"/ "*" / "/")*; a tenant
// may also start with a digit.
func keyChars(k string, digitFirst bool) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		lower := c >= 'a' && c <= 'z'
		digit := c >= '0' && c <= '9'
		if i == 0 {
			if !lower && !(digitFirst && digit) {
				return false
			}
			continue
		}
		if !lower && !digit && c != '_' && c != '-' && c != '*' && c != '/' {
			return false
		}
	}
	return true
}

func validValue(v string) bool {
	if len(v) == 0 || len(v) > maxValueLen || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return true
}
