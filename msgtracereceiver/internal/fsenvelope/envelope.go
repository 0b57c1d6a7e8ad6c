// Package fsenvelope decodes the envelopes FastStream wraps around Redis
// messages, which have no native headers: the binary BinaryMessageFormatV1
// (FastStream 0.6 and later) and the legacy JSON envelope (0.5.x).
//
// Only the headers are read; of the body, only its size is taken. Every
// length and offset in a binary envelope is checked against the buffer: the
// bytes come from the wire and FastStream itself writes some lengths wrong
// (it counts characters, not bytes, for non-ASCII header strings).
package fsenvelope

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"
)

// Format names the kind of payload Decode found.
type Format int

const (
	// FormatNone is a payload that is not a FastStream envelope (a raw
	// message from another client): no headers, the whole payload is the body.
	FormatNone Format = iota
	// FormatBinary is BinaryMessageFormatV1.
	FormatBinary
	// FormatJSON is the legacy {"data": ..., "headers": {...}} envelope.
	FormatJSON
)

// String returns the format's name, for logs.
func (f Format) String() string {
	switch f {
	case FormatBinary:
		return "binary"
	case FormatJSON:
		return "json"
	default:
		return "none"
	}
}

// Errors returned by Decode; each names one class of malformed envelope.
var (
	ErrTruncated = errors.New("fsenvelope: binary envelope shorter than its fixed header")
	ErrVersion   = errors.New("fsenvelope: unsupported binary envelope version")
	ErrOffsets   = errors.New("fsenvelope: binary envelope offsets outside the buffer")
	ErrHeaders   = errors.New("fsenvelope: binary envelope headers do not fit their section")
	ErrJSON      = errors.New("fsenvelope: malformed JSON envelope headers")
)

// magic opens every BinaryMessageFormatV1 envelope (PNG-like, so that it
// cannot be mistaken for text or JSON).
var magic = []byte("\x89BIN\r\n\x1a\n")

const (
	versionV1 = 1
	// fixedLen is magic, u16 version, u32 headers_start, u32 data_start.
	fixedLen = 8 + 2 + 4 + 4
)

// Header is one envelope header, in wire order.
type Header struct {
	Key   string
	Value string
}

// Envelope is what Decode could read of one payload.
type Envelope struct {
	Format  Format
	Headers []Header
	// BodySize is the size of the user data in bytes. When the envelope is
	// malformed beyond finding its body, it is the whole payload's size.
	BodySize int
}

// Get returns the value of the last header named key, as FastStream's own
// parser (a dict filled in wire order) would.
func (e Envelope) Get(key string) (string, bool) {
	for i := len(e.Headers) - 1; i >= 0; i-- {
		if e.Headers[i].Key == key {
			return e.Headers[i].Value, true
		}
	}
	return "", false
}

// Decode reads the envelope in payload (a Redis Pub/Sub message or the
// __data__ field of a stream entry).
//
// A payload that is no envelope yields FormatNone and no error. A malformed
// envelope yields its format, the headers that could be read and an error
// wrapping one of the Err values: the caller counts the fault and still
// reports the message.
func Decode[B ~string | ~[]byte](payload B) (Envelope, error) {
	if hasMagic(payload) {
		return decodeBinary(payload)
	}
	if looksLikeJSONObject(payload) {
		return decodeJSON([]byte(payload))
	}
	return Envelope{Format: FormatNone, BodySize: len(payload)}, nil
}

func hasMagic[B ~string | ~[]byte](p B) bool {
	if len(p) < len(magic) {
		return false
	}
	for i, c := range magic {
		if p[i] != c {
			return false
		}
	}
	return true
}

func looksLikeJSONObject[B ~string | ~[]byte](p B) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

func u16[B ~string | ~[]byte](p B, off int) int {
	return int(p[off])<<8 | int(p[off+1])
}

func u32[B ~string | ~[]byte](p B, off int) uint32 {
	return uint32(p[off])<<24 | uint32(p[off+1])<<16 | uint32(p[off+2])<<8 | uint32(p[off+3])
}

func decodeBinary[B ~string | ~[]byte](p B) (Envelope, error) {
	env := Envelope{Format: FormatBinary, BodySize: len(p)}
	if len(p) < fixedLen+2 {
		return env, fmt.Errorf("%w: %d bytes", ErrTruncated, len(p))
	}
	if v := u16(p, 8); v != versionV1 {
		return env, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	// Offsets are compared as uint32 against the length first, so a huge
	// value can neither overflow int nor index outside the buffer.
	headersStart, dataStart := u32(p, 10), u32(p, 14)
	n := uint32(len(p))
	if headersStart < fixedLen || headersStart > n-2 || dataStart > n || dataStart < headersStart+2 {
		return env, fmt.Errorf("%w: headers at %d, data at %d, %d bytes", ErrOffsets, headersStart, dataStart, n)
	}
	env.BodySize = len(p) - int(dataStart)

	count := u16(p, int(headersStart))
	section := p[headersStart+2 : dataStart]
	// FastStream writes header lengths as Python len(str): code points, not
	// bytes. data_start is right in bytes, so a reading that ends exactly on
	// it is the right one: bytes first (correct writers, ASCII), then code points.
	if hs, ok := readHeaders(section, count, byteLen[B]); ok {
		env.Headers = hs
		return env, nil
	}
	if hs, ok := readHeaders(section, count, runeLen[B]); ok {
		env.Headers = hs
		return env, nil
	}
	hs, _ := readHeaders(section, count, byteLen[B])
	env.Headers = hs
	return env, fmt.Errorf("%w: %d headers in %d bytes", ErrHeaders, count, len(section))
}

// byteLen and runeLen return how many bytes of s, from its start, hold a
// string whose length field said n; ok is false when s is too short.
func byteLen[B ~string | ~[]byte](s B, n int) (int, bool) { return n, n <= len(s) }

func runeLen[B ~string | ~[]byte](s B, n int) (int, bool) {
	i := 0
	for ; n > 0; n-- {
		if i >= len(s) {
			return 0, false
		}
		i += runeWidth(s, i)
	}
	return i, true
}

// runeWidth is the number of bytes utf8.DecodeRune takes at s[i] (1 for
// an invalid byte, as Python's decoder would have failed there anyway).
func runeWidth[B ~string | ~[]byte](s B, i int) int {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s[i:min(i+utf8.UTFMax, len(s))])
	_, w := utf8.DecodeRune(buf[:n])
	return w
}

// readHeaders reads count key/value pairs from section. ok reports that they
// filled it exactly; otherwise hs holds the pairs read before the mismatch.
// Strings of a string payload share its memory; a []byte payload is copied.
func readHeaders[B ~string | ~[]byte](s B, count int, strLen func(B, int) (int, bool)) (hs []Header, ok bool) {
	// Each header takes at least 4 bytes, which bounds a lying count.
	hs = make([]Header, 0, min(count, len(s)/4))
	for range count {
		key, rest, ok := readString(s, strLen)
		if !ok {
			return hs, false
		}
		value, rest, ok := readString(rest, strLen)
		if !ok {
			return hs, false
		}
		hs = append(hs, Header{Key: key, Value: value})
		s = rest
	}
	return hs, len(s) == 0
}

func readString[B ~string | ~[]byte](s B, strLen func(B, int) (int, bool)) (string, B, bool) {
	if len(s) < 2 {
		return "", s, false
	}
	n := u16(s, 0)
	s = s[2:]
	w, ok := strLen(s, n)
	if !ok {
		return "", s, false
	}
	return string(s[:w]), s[w:], true
}

// decodeJSON reads FastStream 0.5's RawMessage: {"data": "<body>", "headers": {...}}.
// The object is read as a map, not a struct, because encoding/json matches
// struct fields case-insensitively and FastStream's parser does not: {"DATA": ...}
// is a raw message to FastStream, so it is one here too.
func decodeJSON(p []byte) (Envelope, error) {
	var top map[string]json.RawMessage
	// FastStream falls back to a raw message when the payload is not an
	// object with a string "data": so does Decode, without a fault.
	if err := json.Unmarshal(p, &top); err != nil {
		return Envelope{Format: FormatNone, BodySize: len(p)}, nil
	}
	data, ok := top["data"]
	if !ok {
		return Envelope{Format: FormatNone, BodySize: len(p)}, nil
	}
	var body string
	if err := json.Unmarshal(data, &body); err != nil {
		return Envelope{Format: FormatNone, BodySize: len(p)}, nil
	}
	var headers map[string]json.RawMessage
	if h, ok := top["headers"]; ok && !isJSONNull(h) {
		if err := json.Unmarshal(h, &headers); err != nil {
			return Envelope{Format: FormatJSON, BodySize: len(body)}, fmt.Errorf("%w: headers is not an object", ErrJSON)
		}
	}
	env := Envelope{Format: FormatJSON, BodySize: len(body)}
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys) // JSON objects have no order; make the result stable
	env.Headers = make([]Header, 0, len(keys))
	var bad int
	for _, k := range keys {
		if isJSONNull(headers[k]) {
			continue
		}
		v, ok := jsonScalar(headers[k])
		if !ok {
			bad++
			continue
		}
		env.Headers = append(env.Headers, Header{Key: k, Value: v})
	}
	if bad > 0 {
		return env, fmt.Errorf("%w: %d header values are not strings, numbers or booleans", ErrJSON, bad)
	}
	return env, nil
}

// jsonScalar returns a header value as the string an application would see:
// strings unquoted, numbers and booleans as written (FastStream passes
// headers through as given, so a baggage value 1 arrives as "1"). Objects,
// arrays and null are not header values.
func isJSONNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func jsonScalar(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", false
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false
		}
		return s, true
	case '{', '[', 'n':
		return "", false
	default:
		return string(v), true
	}
}

// Encode builds a BinaryMessageFormatV1 envelope, with lengths in bytes (as
// FastStream means them). It is for tests and demo traffic: the receiver
// only reads envelopes. Strings longer than 65535 bytes do not fit a
// header and are cut.
func Encode(headers []Header, body []byte) []byte {
	size := fixedLen + 2 + len(body)
	for _, h := range headers {
		size += 4 + min(len(h.Key), 0xffff) + min(len(h.Value), 0xffff)
	}
	out := make([]byte, 0, size)
	out = append(out, magic...)
	out = binary.BigEndian.AppendUint16(out, versionV1)
	out = binary.BigEndian.AppendUint32(out, fixedLen)
	out = binary.BigEndian.AppendUint32(out, uint32(size-len(body)))
	out = binary.BigEndian.AppendUint16(out, uint16(min(len(headers), 0xffff)))
	for _, h := range headers[:min(len(headers), 0xffff)] {
		for _, s := range []string{h.Key, h.Value} {
			s = s[:min(len(s), 0xffff)]
			out = binary.BigEndian.AppendUint16(out, uint16(len(s)))
			out = append(out, s...)
		}
	}
	return append(out, body...)
}
