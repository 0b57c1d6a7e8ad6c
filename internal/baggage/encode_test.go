package baggage

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name    string
		members []Member
		want    string
	}{
		{name: "empty", want: ""},
		{
			name:    "plain values unchanged",
			members: []Member{{Key: "tenant.id", Value: "acme"}, {Key: "n", Value: "1"}},
			want:    "tenant.id=acme,n=1",
		},
		{
			name:    "reserved bytes, plus and percent escaped",
			members: []Member{{Key: "k", Value: `a b,c;d"e\f+g%h=é`}},
			want:    `k=a%20b%2Cc%3Bd%22e%5Cf%2Bg%25h=%C3%A9`,
		},
		{
			name:    "invalid keys skipped",
			members: []Member{{Key: "bad key", Value: "1"}, {Key: "", Value: "2"}, {Key: "ok", Value: "3"}},
			want:    "ok=3",
		},
		{
			name:    "valid properties written, invalid ones left out",
			members: []Member{{Key: "a", Value: "1", Properties: "ttl=30;x"}, {Key: "b", Value: "2", Properties: "bad key"}},
			want:    "a=1;ttl=30;x,b=2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Encode(tt.members))
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	in := []Member{
		{Key: "greeting", Value: "hello world/é"},
		{Key: "sum", Value: "a+b"},
		{Key: "pct", Value: "100%"},
		{Key: "edge", Value: " padded "},
		{Key: "p", Value: "v", Properties: "ttl=30"},
	}
	for _, opts := range []Options{{KeepProperties: true}, {KeepProperties: true, PlusAsSpace: true}} {
		got, faults := Parse(Encode(in), opts)
		assert.False(t, faults.Any())
		assert.Equal(t, in, got)
	}
}
