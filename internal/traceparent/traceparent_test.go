package traceparent

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestParse(t *testing.T) {
	tid := pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	sid := pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	tests := []struct {
		name    string
		in      string
		want    Context
		sampled bool
		err     error
	}{
		{name: "sampled", in: valid, want: Context{TraceID: tid, SpanID: sid, Flags: 1}, sampled: true},
		{name: "not sampled", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", want: Context{TraceID: tid, SpanID: sid}},
		{name: "other flags keep the sampled bit", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", want: Context{TraceID: tid, SpanID: sid, Flags: 3}, sampled: true},
		{name: "blanks around", in: " \t" + valid + " ", want: Context{TraceID: tid, SpanID: sid, Flags: 1}, sampled: true},
		{name: "future version with more fields", in: "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever", want: Context{TraceID: tid, SpanID: sid, Flags: 1}, sampled: true},
		{name: "future version, exact length", in: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", want: Context{TraceID: tid, SpanID: sid, Flags: 1}, sampled: true},
		{name: "empty", in: "", err: ErrEmpty},
		{name: "blank", in: "  ", err: ErrEmpty},
		{name: "short", in: valid[:54], err: ErrLength},
		{name: "version 00 too long", in: valid + "-00", err: ErrLength},
		{name: "version ff", in: "ff" + valid[2:], err: ErrVersion},
		{name: "upper-case version", in: "0A" + valid[2:], err: ErrFormat},
		{name: "upper-case hex", in: strings.ToUpper(valid), err: ErrFormat},
		{name: "wrong separator", in: "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", err: ErrFormat},
		{name: "future version without dash after flags", in: "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", err: ErrFormat},
		{name: "non-hex flags", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", err: ErrFormat},
		{name: "zero trace id", in: "00-00000000000000000000000000000000-00f067aa0ba902b7-01", err: ErrZeroTraceID},
		{name: "zero parent id", in: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", err: ErrZeroParentID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Equal(t, Context{}, got)
				assert.False(t, got.IsValid())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.sampled, got.Sampled())
			assert.True(t, got.IsValid())
		})
	}
}

func TestFormatRoundTrip(t *testing.T) {
	c, err := Parse(valid)
	require.NoError(t, err)
	assert.Equal(t, valid, Format(c))
}

func TestParseTraceState(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{name: "empty", in: "", want: "", ok: true},
		{name: "one member", in: "congo=t61rcWkgMzE", want: "congo=t61rcWkgMzE", ok: true},
		{name: "blanks and empty members removed", in: " rojo=00f067aa0ba902b7 ,, congo=t61rcWkgMzE\t", want: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", ok: true},
		{name: "multi-tenant key", in: "1tenant@vendor=v", want: "1tenant@vendor=v", ok: true},
		{name: "key characters", in: "a_b-c*d/e=x", want: "a_b-c*d/e=x", ok: true},
		{name: "upper-case key", in: "Congo=1"},
		{name: "digit first without tenant", in: "1abc=1"},
		{name: "empty value", in: "a="},
		{name: "no equals", in: "a"},
		{name: "space inside a value", in: "a=b c ", want: "a=b c", ok: true},
		{name: "value with comma", in: "a=b=c"},
		{name: "duplicate key", in: "a=1,a=2"},
		{name: "system part too long", in: "t@abcdefghijklmno=1"},
		{name: "too many members", in: strings.Repeat("k=v,", 32) + "z=1"},
		{name: "too long", in: "a=" + strings.Repeat("x", 256) + ",b=" + strings.Repeat("y", 256)},
		{name: "control character", in: "a=\x01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTraceState(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, ErrTraceState)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// BenchmarkParse is the cost every message with a context pays.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := Parse(valid); err != nil {
			b.Fatal(err)
		}
	}
}
