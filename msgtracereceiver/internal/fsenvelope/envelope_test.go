package fsenvelope

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodeFastStream builds a binary envelope the way FastStream's
// BinaryMessageFormatV1.encode does, including its habit of writing string
// lengths as Python len(str) (code points) while the bytes are UTF-8.
func encodeFastStream(headers []Header, body string) []byte {
	var hs []byte
	for _, h := range headers {
		for _, s := range []string{h.Key, h.Value} {
			hs = binary.BigEndian.AppendUint16(hs, uint16(utf8.RuneCountInString(s)))
			hs = append(hs, s...)
		}
	}
	out := append([]byte{}, magic...)
	out = binary.BigEndian.AppendUint16(out, 1)
	headersStart := uint32(len(out) + 8)
	out = binary.BigEndian.AppendUint32(out, headersStart)
	out = binary.BigEndian.AppendUint32(out, 2+headersStart+uint32(len(hs)))
	out = binary.BigEndian.AppendUint16(out, uint16(len(headers)))
	out = append(out, hs...)
	return append(out, body...)
}

// encodeBytes is a correct writer: lengths in bytes.
func encodeBytes(headers []Header, body string) []byte {
	var hs []byte
	for _, h := range headers {
		for _, s := range []string{h.Key, h.Value} {
			hs = binary.BigEndian.AppendUint16(hs, uint16(len(s)))
			hs = append(hs, s...)
		}
	}
	out := append([]byte{}, magic...)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint32(out, 18)
	out = binary.BigEndian.AppendUint32(out, 20+uint32(len(hs)))
	out = binary.BigEndian.AppendUint16(out, uint16(len(headers)))
	out = append(out, hs...)
	return append(out, body...)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func TestDecodeGolden(t *testing.T) {
	// {"correlation_id": "abc"} and body "hi", byte by byte as FastStream
	// 0.6 writes it: magic, version 1, headers_start 18, data_start 41.
	golden := mustHex(t, "89 42 49 4e 0d 0a 1a 0a 0001 00000012 00000029 0001"+
		" 000e 636f7272656c6174696f6e5f6964 0003 616263 6869")
	env, err := Decode(golden)
	require.NoError(t, err)
	assert.Equal(t, Envelope{Format: FormatBinary, Headers: []Header{{"correlation_id", "abc"}}, BodySize: 2}, env)
	assert.Equal(t, golden, encodeFastStream([]Header{{"correlation_id", "abc"}}, "hi"))
}

func TestDecode(t *testing.T) {
	fsHeaders := []Header{
		{"correlation_id", "5f1c"},
		{"content-type", "application/json"},
		{"traceparent", traceparent},
		{"baggage", "tenant=acme,user=%C3%A9mile"},
	}
	nonASCII := []Header{{"correlation_id", "c-1"}, {"note", "überprüft ✓"}, {"traceparent", traceparent}}
	tests := []struct {
		name    string
		payload []byte
		want    Envelope
		wantErr error
	}{
		{
			name:    "binary FastStream headers",
			payload: encodeFastStream(fsHeaders, `{"order":1}`),
			want:    Envelope{Format: FormatBinary, Headers: fsHeaders, BodySize: 11},
		},
		{
			name:    "binary non-ASCII values with code-point lengths",
			payload: encodeFastStream(nonASCII, "body"),
			want:    Envelope{Format: FormatBinary, Headers: nonASCII, BodySize: 4},
		},
		{
			name:    "binary non-ASCII values with byte lengths",
			payload: encodeBytes(nonASCII, "body"),
			want:    Envelope{Format: FormatBinary, Headers: nonASCII, BodySize: 4},
		},
		{
			name:    "binary no headers, empty body",
			payload: encodeFastStream(nil, ""),
			want:    Envelope{Format: FormatBinary, Headers: []Header{}, BodySize: 0},
		},
		{
			name:    "binary duplicate key kept in order",
			payload: encodeFastStream([]Header{{"k", "1"}, {"k", "2"}}, "x"),
			want:    Envelope{Format: FormatBinary, Headers: []Header{{"k", "1"}, {"k", "2"}}, BodySize: 1},
		},
		{
			name:    "binary truncated fixed header",
			payload: encodeFastStream(nil, "")[:15],
			want:    Envelope{Format: FormatBinary, BodySize: 15},
			wantErr: ErrTruncated,
		},
		{
			name: "binary unknown version",
			payload: func() []byte {
				b := encodeFastStream(fsHeaders, "x")
				b[9] = 2
				return b
			}(),
			want:    Envelope{Format: FormatBinary, BodySize: len(encodeFastStream(fsHeaders, "x"))},
			wantErr: ErrVersion,
		},
		{
			name: "binary data_start past the end",
			payload: func() []byte {
				b := encodeFastStream(fsHeaders, "x")
				binary.BigEndian.PutUint32(b[14:], 0xffffffff)
				return b
			}(),
			want:    Envelope{Format: FormatBinary, BodySize: len(encodeFastStream(fsHeaders, "x"))},
			wantErr: ErrOffsets,
		},
		{
			name: "binary headers_start past the end",
			payload: func() []byte {
				b := encodeFastStream(nil, "")
				binary.BigEndian.PutUint32(b[10:], 0xfffffff0)
				return b
			}(),
			want:    Envelope{Format: FormatBinary, BodySize: 20},
			wantErr: ErrOffsets,
		},
		{
			name: "binary header count larger than the section",
			payload: func() []byte {
				b := encodeFastStream([]Header{{"a", "b"}}, "xyz")
				binary.BigEndian.PutUint16(b[18:], 0xffff)
				return b
			}(),
			want:    Envelope{Format: FormatBinary, Headers: []Header{{"a", "b"}}, BodySize: 3},
			wantErr: ErrHeaders,
		},
		{
			name: "binary header length past data_start",
			payload: func() []byte {
				b := encodeFastStream([]Header{{"a", "b"}, {"traceparent", traceparent}}, "xyz")
				binary.BigEndian.PutUint16(b[20+2+1+2+1+2+len("traceparent"):], 0xfff0)
				return b
			}(),
			want:    Envelope{Format: FormatBinary, Headers: []Header{{"a", "b"}}, BodySize: 3},
			wantErr: ErrHeaders,
		},
		{
			name:    "legacy JSON envelope",
			payload: []byte(`{"data": "{\"order\": \"é\"}", "headers": {"correlation_id": "c-9", "traceparent": "` + traceparent + `", "retries": 3, "flag": true, "gone": null}}`),
			want: Envelope{Format: FormatJSON, BodySize: len(`{"order": "é"}`), Headers: []Header{
				{"correlation_id", "c-9"}, {"flag", "true"}, {"retries", "3"}, {"traceparent", traceparent},
			}},
		},
		{
			name:    "legacy JSON envelope without headers",
			payload: []byte(` {"data": "hello"}`),
			want:    Envelope{Format: FormatJSON, Headers: []Header{}, BodySize: 5},
		},
		{
			name:    "legacy JSON envelope with an object header value",
			payload: []byte(`{"data": "", "headers": {"a": {"b": 1}, "traceparent": "` + traceparent + `"}}`),
			want:    Envelope{Format: FormatJSON, Headers: []Header{{"traceparent", traceparent}}},
			wantErr: ErrJSON,
		},
		{
			name:    "JSON that is no envelope",
			payload: []byte(`{"order": 1}`),
			want:    Envelope{Format: FormatNone, BodySize: 12},
		},
		{
			name:    "JSON with non-string data is no envelope",
			payload: []byte(`{"data": 1, "headers": {}}`),
			want:    Envelope{Format: FormatNone, BodySize: 26},
		},
		{
			name:    "broken JSON is a raw body",
			payload: []byte(`{"data": "x", `),
			want:    Envelope{Format: FormatNone, BodySize: 14},
		},
		{
			name:    "raw text",
			payload: []byte("plain text"),
			want:    Envelope{Format: FormatNone, BodySize: 10},
		},
		{
			name:    "empty",
			payload: nil,
			want:    Envelope{Format: FormatNone},
		},
		{
			name:    "magic prefix only is truncated",
			payload: magic,
			want:    Envelope{Format: FormatBinary, BodySize: 8},
			wantErr: ErrTruncated,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.payload)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, got)

			// The string form must decode identically (Pub/Sub payloads are strings).
			gotS, errS := Decode(string(tt.payload))
			assert.Equal(t, got, gotS)
			assert.Equal(t, err == nil, errS == nil)
		})
	}
}

func TestEncode(t *testing.T) {
	headers := []Header{{"correlation_id", "abc"}, {"note", "überprüft ✓"}}
	assert.Equal(t, encodeBytes(headers, "hi"), Encode(headers, []byte("hi")))
	env, err := Decode(Encode(headers, []byte("hi")))
	require.NoError(t, err)
	assert.Equal(t, Envelope{Format: FormatBinary, Headers: headers, BodySize: 2}, env)
	// The golden FastStream bytes, for ASCII headers.
	assert.Equal(t, encodeFastStream(headers[:1], "hi"), Encode(headers[:1], []byte("hi")))
}

func TestEnvelopeGet(t *testing.T) {
	env := Envelope{Headers: []Header{{"k", "1"}, {"other", "x"}, {"k", "2"}}}
	v, ok := env.Get("k")
	assert.True(t, ok)
	assert.Equal(t, "2", v, "the last value wins, as in FastStream's dict")
	_, ok = env.Get("missing")
	assert.False(t, ok)
}

func TestFormatString(t *testing.T) {
	assert.Equal(t, "binary", FormatBinary.String())
	assert.Equal(t, "json", FormatJSON.String())
	assert.Equal(t, "none", FormatNone.String())
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{ErrTruncated, ErrVersion, ErrOffsets, ErrHeaders, ErrJSON}
	for i, a := range all {
		for j, b := range all {
			assert.Equal(t, i == j, errors.Is(a, b))
		}
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	payload := string(encodeFastStream([]Header{
		{"correlation_id", "5f1c2a40-6f0e-4a4b-9d0e-0c1f5c7d2b11"},
		{"content-type", "application/json"},
		{"traceparent", traceparent},
		{"baggage", "tenant=acme,user=42"},
	}, strings.Repeat("x", 200)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	payload := `{"data": "` + strings.Repeat("x", 200) + `", "headers": {"correlation_id": "5f1c", "traceparent": "` + traceparent + `"}}`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// FastStream's parser looks up "data" and "headers" exactly; so must Decode.
func TestDecodeJSONKeysAreCaseSensitive(t *testing.T) {
	for _, p := range []string{`{"DATA": "x"}`, `{"dAtA": "x", "headers": {}}`} {
		env, err := Decode([]byte(p))
		if err != nil || env.Format != FormatNone || env.BodySize != len(p) {
			t.Errorf("Decode(%s) = %+v, %v; want a raw message", p, env, err)
		}
	}
	env, err := Decode([]byte(`{"data": "x", "headers": ["not", "an", "object"]}`))
	if err == nil || env.Format != FormatJSON || env.BodySize != 1 {
		t.Errorf("headers that are not an object: %+v, %v; want a JSON envelope and a fault", env, err)
	}
}
