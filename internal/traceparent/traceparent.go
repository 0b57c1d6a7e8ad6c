// Package traceparent parses the W3C Trace Context headers (traceparent and
// tracestate) carried by messages. Parsing is strict where the spec is strict,
// because a wrong context is worse than none: the caller treats an error as
// "no context" and rebuilds the span instead.
package traceparent

import (
	"encoding/hex"
	"errors"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Errors returned by Parse; each names one class of malformed header so that
// callers can count them separately.
var (
	ErrEmpty        = errors.New("traceparent: empty")
	ErrLength       = errors.New("traceparent: wrong length")
	ErrVersion      = errors.New("traceparent: invalid version")
	ErrFormat       = errors.New("traceparent: malformed (separators or non lower-case hex)")
	ErrZeroTraceID  = errors.New("traceparent: all-zero trace-id")
	ErrZeroParentID = errors.New("traceparent: all-zero parent-id")
)

// flagSampled is the sampled bit of trace-flags.
const flagSampled = 0x01

// Context is a parsed remote span context.
type Context struct {
	TraceID    pcommon.TraceID
	SpanID     pcommon.SpanID
	Flags      uint8
	TraceState string
}

// Sampled reports whether the producer recorded its span.
func (c Context) Sampled() bool { return c.Flags&flagSampled != 0 }

// IsValid reports whether both IDs are set.
func (c Context) IsValid() bool { return !c.TraceID.IsEmpty() && !c.SpanID.IsEmpty() }

// Parse parses a traceparent header value:
//
//	version "-" trace-id "-" parent-id "-" trace-flags
//
// Version 00 must be exactly 55 characters. Higher versions may append fields
// after a '-' (forward compatibility); version ff is invalid. Only lower-case
// hex is accepted, as the spec requires. Surrounding blanks are tolerated.
func Parse(s string) (Context, error) {
	s = strings.Trim(s, " \t")
	if s == "" {
		return Context{}, ErrEmpty
	}
	if len(s) < 55 {
		return Context{}, ErrLength
	}
	if !isLowerHex(s[0:2]) {
		return Context{}, ErrFormat
	}
	switch {
	case s[0:2] == "ff":
		return Context{}, ErrVersion
	case s[0:2] == "00" && len(s) != 55:
		return Context{}, ErrLength
	case len(s) > 55 && s[55] != '-':
		return Context{}, ErrFormat
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return Context{}, ErrFormat
	}
	var (
		c Context
		f [1]byte
	)
	if !decodeLowerHex(c.TraceID[:], s[3:35]) || !decodeLowerHex(c.SpanID[:], s[36:52]) || !decodeLowerHex(f[:], s[53:55]) {
		return Context{}, ErrFormat
	}
	c.Flags = f[0]
	if c.TraceID.IsEmpty() {
		return Context{}, ErrZeroTraceID
	}
	if c.SpanID.IsEmpty() {
		return Context{}, ErrZeroParentID
	}
	return c, nil
}

// Format renders a version-00 traceparent.
func Format(c Context) string {
	var b [55]byte
	copy(b[0:], "00-")
	hex.Encode(b[3:35], c.TraceID[:])
	b[35] = '-'
	hex.Encode(b[36:52], c.SpanID[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{c.Flags})
	return string(b[:])
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if hexValue[s[i]] == notHex {
			return false
		}
	}
	return true
}

// decodeLowerHex decodes s, lower-case hex of exactly 2*len(dst) characters,
// into dst in one pass (every message's traceparent goes through here); it
// reports false on any other character.
func decodeLowerHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		if hi == notHex || lo == notHex {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// notHex marks the bytes that are not lower-case hex digits in hexValue.
const notHex = 0xff

// hexValue maps '0'-'9' and 'a'-'f' to their values and every other byte to notHex.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = notHex
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()
