package traceparent

import (
	"strings"
	"testing"
)

// FuzzParse checks that any header either fails with an error and an empty
// Context, or yields a valid Context that formats back to the same IDs.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		valid,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		strings.ToUpper(valid),
		"",
		" ",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			if c != (Context{}) {
				t.Fatalf("Parse(%q) = %+v with error %v; want the zero Context", s, c, err)
			}
			return
		}
		if !c.IsValid() {
			t.Fatalf("Parse(%q) accepted an invalid context %+v", s, c)
		}
		out := Format(c)
		again, err := Parse(out)
		if err != nil || again.TraceID != c.TraceID || again.SpanID != c.SpanID || again.Flags != c.Flags {
			t.Fatalf("Format(Parse(%q)) = %q does not parse back to the same context: %+v, %v", s, out, again, err)
		}
		// The IDs are the ones written in the header (after the version).
		trimmed := strings.Trim(s, " \t")
		if out[3:55] != trimmed[3:55] {
			t.Fatalf("Parse(%q) changed the IDs: %q", s, out)
		}
	})
}

// FuzzParseTraceState checks that an accepted header normalises into one
// that is accepted again unchanged, within the W3C limits.
func FuzzParseTraceState(f *testing.F) {
	for _, s := range []string{
		"congo=t61rcWkgMzE",
		"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
		" a=1 ,, b=2\t",
		"1tenant@vendor=v",
		"a=1,a=2",
		"Upper=1",
		"a=b=c",
		strings.Repeat("k=v,", 33),
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ParseTraceState(s)
		if err != nil {
			if out != "" {
				t.Fatalf("ParseTraceState(%q) = %q with error %v; want empty", s, out, err)
			}
			return
		}
		if len(out) > maxTraceStateLen {
			t.Fatalf("ParseTraceState(%q) = %d bytes, over the %d limit", s, len(out), maxTraceStateLen)
		}
		if n := strings.Count(out, ",") + 1; out != "" && n > maxTraceStateMembers {
			t.Fatalf("ParseTraceState(%q) kept %d members", s, n)
		}
		again, err := ParseTraceState(out)
		if err != nil || again != out {
			t.Fatalf("normalised %q does not parse to itself: %q, %v", out, again, err)
		}
	})
}
