package fsenvelope

import (
	"testing"
)

func FuzzDecode(f *testing.F) {
	f.Add(encodeFastStream([]Header{{"correlation_id", "c"}, {"traceparent", traceparent}}, "body"))
	f.Add(encodeFastStream([]Header{{"note", "überprüft ✓"}}, "x"))
	f.Add(encodeBytes([]Header{{"note", "überprüft ✓"}}, "x"))
	f.Add(encodeFastStream(nil, ""))
	f.Add([]byte(`{"data": "x", "headers": {"traceparent": "` + traceparent + `", "n": 1}}`))
	f.Add([]byte(`{"data": 1}`))
	f.Add([]byte("plain"))
	f.Add(magic)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		env, err := Decode(payload)
		if env.BodySize < 0 || env.BodySize > len(payload) {
			t.Fatalf("body size %d outside [0, %d]", env.BodySize, len(payload))
		}
		var headerBytes int
		for _, h := range env.Headers {
			headerBytes += len(h.Key) + len(h.Value)
		}
		// JSON decoding turns each invalid UTF-8 byte into U+FFFD (3 bytes).
		limit := len(payload)
		if env.Format == FormatJSON {
			limit = 3 * len(payload)
		}
		if headerBytes > limit {
			t.Fatalf("%d header bytes from a %d-byte payload", headerBytes, len(payload))
		}
		if err != nil && env.Format == FormatNone {
			t.Fatalf("a payload that is no envelope is no fault: %v", err)
		}
		envS, errS := Decode(string(payload))
		if (err == nil) != (errS == nil) || envS.Format != env.Format || envS.BodySize != env.BodySize || len(envS.Headers) != len(env.Headers) {
			t.Fatalf("string and []byte decodes differ: %+v %v / %+v %v", env, err, envS, errS)
		}
	})
}

// FuzzRoundTrip checks that every envelope a correct writer or FastStream
// produces decodes back to its headers and body size.
func FuzzRoundTrip(f *testing.F) {
	f.Add("traceparent", traceparent, "baggage", "k=v", "body")
	f.Add("note", "überprüft ✓", "k", "", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, body string) {
		for _, s := range []string{k1, v1, k2, v2} {
			if len(s) > 0xffff {
				t.Skip("a header string is at most 65535 bytes")
			}
		}
		headers := []Header{{k1, v1}, {k2, v2}}
		env, err := Decode(Encode(headers, []byte(body)))
		if err != nil {
			t.Fatalf("byte-length envelope: %v", err)
		}
		if env.Format != FormatBinary || env.BodySize != len(body) || len(env.Headers) != 2 ||
			env.Headers[0] != headers[0] || env.Headers[1] != headers[1] {
			t.Fatalf("got %+v, want headers %+v body %d", env, headers, len(body))
		}
	})
}
