package redissource

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wire is a net.Conn that a test's bytes are read from, as if a server had
// sent them; writes go nowhere.
type wire struct {
	net.Conn // nil: only the methods below are called
	r        io.Reader
}

func (w *wire) Read(p []byte) (int, error)       { return w.r.Read(p) }
func (w *wire) Write(p []byte) (int, error)      { return len(p), nil }
func (w *wire) Close() error                     { return nil }
func (w *wire) SetDeadline(time.Time) error      { return nil }
func (w *wire) SetReadDeadline(time.Time) error  { return nil }
func (w *wire) SetWriteDeadline(time.Time) error { return nil }

// decodeRESP reads one reply from RESP bytes with redigo's own reader, as
// the source gets it from conn.Do.
func decodeRESP(b []byte) (any, error) {
	return redis.NewConn(&wire{r: bytes.NewReader(b)}, 0, 0).Receive()
}

// encodeRESP writes a reply tree as RESP: []any as an array, []byte as a
// bulk string, string as a status line, int64 as an integer, nil as a null
// bulk string and redis.Error as an error.
func encodeRESP(v any) []byte {
	var b []byte
	var enc func(v any)
	enc = func(v any) {
		switch v := v.(type) {
		case nil:
			b = append(b, "$-1\r\n"...)
		case []any:
			b = fmt.Appendf(b, "*%d\r\n", len(v))
			for _, e := range v {
				enc(e)
			}
		case []byte:
			b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(v), v)
		case string:
			b = fmt.Appendf(b, "+%s\r\n", v)
		case int64:
			b = fmt.Appendf(b, ":%d\r\n", v)
		case redis.Error:
			b = fmt.Appendf(b, "-%s\r\n", string(v))
		default:
			panic(fmt.Sprintf("encodeRESP: %T", v))
		}
	}
	enc(v)
	return b
}

// bulks makes an array of bulk strings.
func bulks(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// xreadReply makes the reply of one stream: entries are [id, fields...].
func xreadReply(stream string, entries ...[]string) []any {
	es := make([]any, len(entries))
	for i, e := range entries {
		es[i] = []any{[]byte(e[0]), bulks(e[1:]...)}
	}
	return []any{[]byte(stream), es}
}

func TestParseXRead(t *testing.T) {
	tests := []struct {
		name    string
		reply   any
		want    []streamRead
		faults  []bool // per entry of the first stream: a fault expected
		wantErr string
	}{
		{name: "block ended without entries", reply: nil},
		{
			name: "two streams",
			reply: []any{
				xreadReply("a", []string{"1-0", dataField, "x"}, []string{"1-1", "traceparent", "tp", "n", "1"}),
				xreadReply("b", []string{"2-0"}),
			},
			want: []streamRead{
				{Stream: "a", Entries: []entry{{ID: "1-0", Fields: []string{dataField, "x"}}, {ID: "1-1", Fields: []string{"traceparent", "tp", "n", "1"}}}},
				{Stream: "b", Entries: []entry{{ID: "2-0", Fields: []string{}}}},
			},
			faults: []bool{false, false},
		},
		{
			name:   "entry without fields (nil)",
			reply:  []any{[]any{[]byte("a"), []any{[]any{[]byte("1-0"), nil}}}},
			want:   []streamRead{{Stream: "a", Entries: []entry{{ID: "1-0"}}}},
			faults: []bool{false},
		},
		{
			name:   "odd number of fields: the pairs, and a fault",
			reply:  []any{[]any{[]byte("a"), []any{[]any{[]byte("1-0"), bulks("k", "v", "lonely")}}}},
			want:   []streamRead{{Stream: "a", Entries: []entry{{ID: "1-0", Fields: []string{"k", "v"}}}}},
			faults: []bool{true},
		},
		{
			name: "a field value that is no string: the other pairs, and a fault",
			reply: []any{[]any{[]byte("a"), []any{[]any{[]byte("1-0"),
				[]any{[]byte("n"), int64(5), []byte("traceparent"), []byte("tp"), nil, []byte("v")}}}}},
			want:   []streamRead{{Stream: "a", Entries: []entry{{ID: "1-0", Fields: []string{"traceparent", "tp"}}}}},
			faults: []bool{true},
		},
		{
			name:   "fields that are no array",
			reply:  []any{[]any{[]byte("a"), []any{[]any{[]byte("1-0"), int64(3)}}}},
			want:   []streamRead{{Stream: "a", Entries: []entry{{ID: "1-0"}}}},
			faults: []bool{true},
		},
		{name: "status reply", reply: "OK", wantErr: "reply is a status string, want an array of streams"},
		{name: "stream without entries", reply: []any{[]any{[]byte("a")}}, wantErr: "stream 0 is an array of 1, want [name, entries]"},
		{name: "stream name an integer", reply: []any{[]any{int64(1), []any{}}}, wantErr: "stream 0: name is an integer"},
		{name: "entries no array", reply: []any{[]any{[]byte("a"), []byte("x")}}, wantErr: `stream "a": entries are a bulk string, want an array`},
		{name: "entry no pair", reply: []any{[]any{[]byte("a"), []any{bulks("1-0")}}}, wantErr: `stream "a": entry 0: an array of 1, want [id, fields]`},
		{name: "entry ID nil", reply: []any{[]any{[]byte("a"), []any{[]any{nil, nil}}}}, wantErr: `stream "a": entry 0: ID is nil`},
		{
			name:    "entry ID an error",
			reply:   []any{[]any{[]byte("a"), []any{[]any{redis.Error("ERR x"), nil}}}},
			wantErr: `stream "a": entry 0: ID is an error reply`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Through the wire, as the source gets it.
			reply, err := decodeRESP(encodeRESP(tt.reply))
			require.NoError(t, err)
			got, err := parseXRead(reply)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(tt.want))
			for i := range got {
				for j := range got[i].Entries {
					if i == 0 {
						assert.Equal(t, tt.faults[j], got[i].Entries[j].fault != nil, "entry %d: fault %v", j, got[i].Entries[j].fault)
					}
					got[i].Entries[j].fault = nil
				}
			}
			if tt.want == nil {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLastGeneratedID(t *testing.T) {
	info := func(lastID any) []any {
		return []any{
			[]byte("length"), int64(2), []byte("radix-tree-keys"), int64(1),
			[]byte("last-generated-id"), lastID,
			[]byte("first-entry"), []any{[]byte("1-0"), bulks("k", "v")},
		}
	}
	tests := []struct {
		name    string
		reply   any
		want    string
		wantErr string
	}{
		{name: "XINFO STREAM", reply: info([]byte("1700000000000-3")), want: "1700000000000-3"},
		{name: "no such field", reply: bulks("length", "2"), wantErr: "reply has no last-generated-id"},
		{name: "not an array", reply: int64(1), wantErr: "reply is an integer, want an array"},
		{name: "an integer ID", reply: info(int64(7)), wantErr: "last-generated-id is an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := decodeRESP(encodeRESP(tt.reply))
			require.NoError(t, err)
			got, err := lastGeneratedID(reply)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// boundedRESP tells whether redigo may read b without allocating more than
// b could hold: every array and bulk length, added up, within 2×len(b). A
// well-formed reply always is; only a lying length is refused. (redigo
// trusts the server's lengths, as every client does.)
func boundedRESP(b []byte) bool {
	total := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) < 2 || (line[0] != '*' && line[0] != '$') || strings.Trim(string(line[1:]), "0123456789") != "" {
			continue // no length redigo would act on
		}
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return false // beyond an int: redigo would wrap it around
		}
		if total += n; total > 2*len(b) {
			return false
		}
	}
	return true
}

// FuzzParseXRead feeds RESP bytes, as a server would send them, through
// redigo's reader to the XREAD and XINFO parsers and on to fromStream:
// whatever the bytes, no panic; a parsed reply names every entry and
// survives being sent again.
func FuzzParseXRead(f *testing.F) {
	for _, seed := range []any{
		nil,
		[]any{xreadReply("events", []string{"1700000000000-0", dataField, binary("message_id", "m", "traceparent", tp)("{}")},
			[]string{"1700000000000-1", "traceparent", tp, "n", "1"})},
		[]any{xreadReply("a", []string{"1-0"}), xreadReply("b", []string{"x-y", "k", "v"})},
		[]any{[]any{[]byte("a"), []any{[]any{[]byte("1-0"), []any{[]byte("n"), int64(5), []byte("k")}}}}},
		[]any{[]any{[]byte("a"), []any{[]any{[]byte("1-0"), nil}}}},
		[]any{[]byte("length"), int64(2), []byte("last-generated-id"), []byte("5-1")},
		redis.Error("ERR no such key"),
		"OK",
	} {
		f.Add(encodeRESP(seed))
	}
	f.Add([]byte("*-1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !boundedRESP(b) {
			return
		}
		reply, err := decodeRESP(b)
		if err != nil {
			return // redigo's own verdict on the bytes: the source reconnects
		}
		_, _ = lastGeneratedID(reply)
		res, err := parseXRead(reply)
		if err != nil {
			require.Nil(t, res)
			return
		}
		again := make([]any, 0, len(res))
		for _, st := range res {
			es := make([]any, 0, len(st.Entries))
			for i := range st.Entries {
				e := &st.Entries[i]
				require.Zero(t, len(e.Fields)%2, "fields come in pairs")
				m, faults := fromStream(0, st.Stream, e)
				require.Equal(t, st.Stream, m.Destination)
				if e.fault != nil {
					require.Contains(t, kinds(faults), faultFields)
				}
				es = append(es, []any{[]byte(e.ID), bulks(e.Fields...)})
			}
			again = append(again, []any{[]byte(st.Stream), es})
		}
		// What was parsed, sent again, parses the same and without faults.
		reply2, err := decodeRESP(encodeRESP(again))
		require.NoError(t, err)
		res2, err := parseXRead(reply2)
		require.NoError(t, err)
		require.Len(t, res2, len(res))
		for i := range res {
			require.Equal(t, res[i].Stream, res2[i].Stream)
			require.Len(t, res2[i].Entries, len(res[i].Entries))
			for j, e := range res[i].Entries {
				e2 := res2[i].Entries[j]
				require.NoError(t, e2.fault)
				require.Equal(t, e.ID, e2.ID)
				require.Equal(t, len(e.Fields), len(e2.Fields))
				for k := range e.Fields {
					require.Equal(t, e.Fields[k], e2.Fields[k])
				}
			}
		}
	})
}
