package baggage

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		header string
		opts   Options
		want   []Member
		faults Faults
	}{
		{
			name:   "empty",
			header: "",
			opts:   DefaultOptions,
		},
		{
			name:   "members in header order, whitespace around",
			header: " tenant.id = acme ,\tuser.id=42 , k=v",
			opts:   DefaultOptions,
			want:   []Member{{Key: "tenant.id", Value: "acme"}, {Key: "user.id", Value: "42"}, {Key: "k", Value: "v"}},
		},
		{
			name: "faststream quote_plus values",
			// Python: quote_plus("hello world/é") and quote_plus("a+b"), str(True).
			header: "greeting=hello+world%2F%C3%A9,sum=a%2Bb,with_batch=True",
			opts:   DefaultOptions,
			want: []Member{
				{Key: "greeting", Value: "hello world/é"},
				{Key: "sum", Value: "a+b"},
				{Key: "with_batch", Value: "True"},
			},
		},
		{
			name:   "plus kept when PlusAsSpace is off",
			header: "k=a+b%20c",
			opts:   Options{Limits: DefaultLimits},
			want:   []Member{{Key: "k", Value: "a+b c"}},
		},
		{
			name:   "empty value is valid",
			header: "k=",
			opts:   DefaultOptions,
			want:   []Member{{Key: "k", Value: ""}},
		},
		{
			name:   "duplicate keys are all returned",
			header: "k=1,k=2",
			opts:   DefaultOptions,
			want:   []Member{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}},
		},
		{
			name:   "empty list members are ignored",
			header: ",,k=v, ,",
			opts:   DefaultOptions,
			want:   []Member{{Key: "k", Value: "v"}},
		},
		{
			name:   "properties dropped by default",
			header: "k=v;ttl=30;sensitive",
			opts:   DefaultOptions,
			want:   []Member{{Key: "k", Value: "v"}},
		},
		{
			name:   "properties kept on request",
			header: "k=v ; ttl = 30;sensitive ",
			opts:   Options{Limits: DefaultLimits, KeepProperties: true},
			want:   []Member{{Key: "k", Value: "v", Properties: "ttl = 30;sensitive"}},
		},
		{
			name:   "malformed properties: member kept without them",
			header: "k=v;bad key=1,j=w;;,l=x;p=\"q\"",
			opts:   Options{Limits: DefaultLimits, KeepProperties: true},
			want:   []Member{{Key: "k", Value: "v"}, {Key: "j", Value: "w"}, {Key: "l", Value: "x"}},
			faults: Faults{BadProperties: 3},
		},
		{
			name:   "malformed members skipped, others kept",
			header: "novalue,=v,k y=1,k=va lue,k=\"q\",ok=1,k=a\\b,(k)=1",
			opts:   DefaultOptions,
			want:   []Member{{Key: "ok", Value: "1"}},
			faults: Faults{Malformed: 7},
		},
		{
			name:   "non-ASCII bytes are malformed",
			header: "k=é,ké=v,ok=1",
			opts:   DefaultOptions,
			want:   []Member{{Key: "ok", Value: "1"}},
			faults: Faults{Malformed: 2},
		},
		{
			name:   "bad percent escapes",
			header: "a=%zz,b=%2,c=%,d=ok%21",
			opts:   DefaultOptions,
			want:   []Member{{Key: "d", Value: "ok!"}},
			faults: Faults{BadEncoding: 3},
		},
		{
			name:   "decoded value must be UTF-8",
			header: "a=%FF%FE,b=%C3%A9",
			opts:   DefaultOptions,
			want:   []Member{{Key: "b", Value: "é"}},
			faults: Faults{BadEncoding: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, faults := Parse(tt.header, tt.opts)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.faults, faults)
			assert.Equal(t, tt.faults != Faults{}, faults.Any())
		})
	}
}

// member returns "k<i>=" followed by value bytes so the member is exactly n bytes.
func member(i, n int) string {
	k := "k" + strings.Repeat("0", 3-len(itoa(i))) + itoa(i) + "="
	return k + strings.Repeat("v", n-len(k))
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func join(members ...string) string { return strings.Join(members, ",") }

func TestParseLimits(t *testing.T) {
	many := func(n int) string {
		ms := make([]string, n)
		for i := range ms {
			ms[i] = member(i, 6)
		}
		return join(ms...)
	}

	t.Run("member at the size limit is kept, one byte over is dropped", func(t *testing.T) {
		got, faults := Parse(join(member(0, 4096), member(1, 4097), "ok=1"), Options{Limits: Limits{MaxMemberBytes: 4096}})
		assert.Len(t, got, 2)
		assert.Equal(t, "k000", got[0].Key)
		assert.Equal(t, "ok", got[1].Key)
		assert.Equal(t, Faults{MemberTooLong: 1}, faults)
	})

	t.Run("180 members kept, 181st dropped", func(t *testing.T) {
		got, faults := Parse(many(180), DefaultOptions)
		assert.Len(t, got, 180)
		assert.False(t, faults.Any())

		got, faults = Parse(many(182), DefaultOptions)
		assert.Len(t, got, 180)
		assert.Equal(t, "k179", got[179].Key)
		assert.Equal(t, Faults{TooManyMembers: 2}, faults)
	})

	t.Run("malformed members do not use up the member budget", func(t *testing.T) {
		got, faults := Parse("bad,"+many(2), Options{Limits: Limits{MaxMembers: 2}})
		assert.Len(t, got, 2)
		assert.Equal(t, Faults{Malformed: 1}, faults)
	})

	t.Run("header at the total limit is read whole", func(t *testing.T) {
		h := join(member(0, 4096), member(1, 4095)) // 4096 + 1 + 4095 = 8192 bytes
		assert.Len(t, h, 8192)
		got, faults := Parse(h, DefaultOptions)
		assert.Len(t, got, 2)
		assert.False(t, faults.Any())
	})

	t.Run("header over the total limit is cut at a member boundary", func(t *testing.T) {
		h := join(member(0, 4096), member(1, 4096)) // 8193 bytes
		got, faults := Parse(h, DefaultOptions)
		assert.Equal(t, []Member{{Key: "k000", Value: member(0, 4096)[5:]}}, got)
		assert.Equal(t, Faults{Truncated: true}, faults)
	})

	t.Run("a cut exactly after the limit keeps the members before it", func(t *testing.T) {
		// The comma sits at byte 8192, just past the limit: the first member still ends inside it.
		h := join(member(0, 4096), member(1, 4095), "k=v")
		got, faults := Parse(h, DefaultOptions)
		assert.Len(t, got, 2)
		assert.Equal(t, Faults{Truncated: true}, faults)
	})

	t.Run("one oversized member with no boundary yields nothing", func(t *testing.T) {
		got, faults := Parse(member(0, 9000), DefaultOptions)
		assert.Empty(t, got)
		assert.Equal(t, Faults{Truncated: true}, faults)
	})

	t.Run("zero limits mean unlimited", func(t *testing.T) {
		got, faults := Parse(join(many(300), member(999, 5000)), Options{})
		assert.Len(t, got, 301)
		assert.False(t, faults.Any())
	})
}

func TestFaultsAdd(t *testing.T) {
	a := Faults{Malformed: 1, BadEncoding: 2, MemberTooLong: 3, TooManyMembers: 4, BadProperties: 5}
	b := Faults{Malformed: 10, BadEncoding: 20, MemberTooLong: 30, TooManyMembers: 40, Truncated: true, BadProperties: 50}
	assert.Equal(t, Faults{Malformed: 11, BadEncoding: 22, MemberTooLong: 33, TooManyMembers: 44, Truncated: true, BadProperties: 55}, a.Add(b))
	assert.False(t, Faults{}.Add(Faults{}).Any())
}
