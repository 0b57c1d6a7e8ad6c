package baggage

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that no header makes Parse panic or return a member that
// breaks the limits or the grammar, and that what Parse returns survives an
// Encode/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"tenant.id=acme,user.id=42",
		// FastStream (OpenTelemetry Python quote_plus) values and its batch marker.
		"greeting=hello+world%2F%C3%A9,sum=a%2Bb,with_batch=True",
		"k=v;ttl=30;sensitive, j = w ; p = q",
		"k=v;;,j=w;bad key,l=x;p=\"q\"",
		"a=%zz,b=%2,c=%,d=%FF%FE,e=%C3",
		",,, ,\t,=,==,k==v,k=v=w",
		"k=va lue,k=\"q\",(k)=1,ké=v,k=é",
		strings.Repeat("k=v,", 200),
		"big=" + strings.Repeat("x", 5000) + ",after=1",
		strings.Repeat("y", 9000),
	} {
		f.Add(seed, false, true)
	}
	f.Fuzz(func(t *testing.T, header string, keepProps, plusAsSpace bool) {
		opts := Options{Limits: DefaultLimits, KeepProperties: keepProps, PlusAsSpace: plusAsSpace}
		members, faults := Parse(header, opts)

		if len(members) > opts.Limits.MaxMembers {
			t.Fatalf("%d members, limit %d", len(members), opts.Limits.MaxMembers)
		}
		segments := strings.Count(header, ",") + 1
		if n := len(members) + faults.Malformed + faults.BadEncoding + faults.MemberTooLong + faults.TooManyMembers; n > segments {
			t.Fatalf("%d members and faults from %d list members", n, segments)
		}
		if len(header) <= opts.Limits.MaxTotalBytes && faults.Truncated {
			t.Fatal("truncated a header within the limit")
		}
		for _, m := range members {
			if !isToken(m.Key) {
				t.Fatalf("key %q is not a token", m.Key)
			}
			if !utf8.ValidString(m.Value) {
				t.Fatalf("value %q is not UTF-8", m.Value)
			}
			if m.Properties != "" && (!keepProps || !validProperties(m.Properties)) {
				t.Fatalf("properties %q kept (keep=%v)", m.Properties, keepProps)
			}
		}

		again, faults := Parse(Encode(members), Options{KeepProperties: true, PlusAsSpace: plusAsSpace})
		if faults.Any() {
			t.Fatalf("re-parsing the encoding faulted: %+v", faults)
		}
		if len(again) != len(members) {
			t.Fatalf("round trip: %d members, want %d", len(again), len(members))
		}
		for i := range members {
			if again[i] != members[i] {
				t.Fatalf("round trip: %+v, want %+v", again[i], members[i])
			}
		}
	})
}
