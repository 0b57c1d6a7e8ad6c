package redissource

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/wirelimit"
)

func TestParseShapes(t *testing.T) {
	got, err := parseShapes([]any{
		[]byte("1-0"), int64(4), int64(2048), int64(2059), int64(-1),
		[]byte("1-1"), int64(-1), int64(0), int64(0), int64(-1),
	})
	require.NoError(t, err)
	assert.Equal(t, []entryShape{
		{ID: "1-0", Items: 4, Longest: 2048, Total: 2059, Data: -1},
		{ID: "1-1", Items: -1, Data: -1},
	}, got)

	got, err = parseShapes([]any{})
	require.NoError(t, err)
	assert.Empty(t, got)

	for _, tc := range []struct {
		reply any
		err   string
	}{
		{nil, "reply is nil"},
		{redis.Error("NOPERM"), "reply is an error reply"},
		{[]any{[]byte("1-0"), int64(1)}, "2 values, want 5 per entry"},
		{[]any{int64(1), int64(1), int64(1), int64(1), int64(1)}, "entry 0: ID is an integer"},
		{[]any{[]byte(""), int64(1), int64(1), int64(1), int64(1)}, "entry 0: ID is a bulk string"},
		{[]any{[]byte("1-0"), int64(1), []byte("2"), int64(1), int64(1)}, "entry 1-0: value 2 is a bulk string"},
		{[]any{[]byte("1-0"), int64(1), int64(1), int64(-2), int64(1)}, "entry 1-0: value 3 is an integer"},
	} {
		_, err := parseShapes(tc.reply)
		assert.ErrorContains(t, err, tc.err)
	}
}

// oversized's verdict matches the check's: an entry passes alone exactly
// when an XREADGROUP COUNT 1 reply holding it passes wirelimit.
func TestOversizedMatchesTheCaps(t *testing.T) {
	s := &source{cfg: NewDefaultConfig()}
	s.cfg.MaxBulkBytes, s.cfg.MaxReplyElements = 1024, 100
	reply := func(items, longest int) []byte {
		fields := make([]string, items)
		for i := range fields {
			fields[i] = "v"
		}
		if items > 0 {
			fields[items-1] = strings.Repeat("x", longest)
		}
		return encodeRESP([]any{[]any{[]byte("s"), []any{[]any{[]byte("1-0"), bulks(fields...)}}}})
	}
	for _, tc := range []struct{ items, longest int }{
		{2, 1024}, {2, 1025}, {94, 1}, {95, 1}, {0, 0},
	} {
		t.Run(fmt.Sprint(tc.items, "/", tc.longest), func(t *testing.T) {
			scanErr := wirelimit.NewRESP(wirelimit.RESPLimits{MaxBulkBytes: s.cfg.MaxBulkBytes, MaxReplyElements: s.cfg.MaxReplyElements}).
				Scan(reply(tc.items, tc.longest))
			e := entryShape{ID: "1-0", Items: int64(tc.items), Longest: int64(tc.longest), Data: -1}
			why := s.oversized(&e)
			assert.Equal(t, scanErr != nil, why != nil, "check %v, oversized %v", scanErr, why)
		})
	}
}

func TestShapeCountFitsTheElementsCap(t *testing.T) {
	s := &source{cfg: NewDefaultConfig()}
	s.cfg.MaxBatchSize, s.cfg.MaxReplyElements = 100, 4*100+64
	n := s.shapeCount()
	assert.Equal(t, 92, n)
	assert.LessOrEqual(t, int64(shapeFields*n), s.cfg.MaxReplyElements)
	s.cfg.MaxReplyElements = 1 << 20
	assert.Equal(t, 100, s.shapeCount(), "at most max_batch_size")
}

// An oversized entry's message: no context, its ID, the fields' size (an
// envelope's length bounding its unread body), and one oversized fault.
func TestFromStreamOversized(t *testing.T) {
	why := fmt.Errorf("too big")
	m, faults := fromStream(2, "s", &entry{ID: "1700000000000-1", oversized: &oversize{shape: entryShape{Total: 3000, Data: -1}, err: why}})
	assert.Equal(t, "1700000000000-1", m.ID)
	assert.Equal(t, "redis/2/stream/s/1700000000000-1", m.Identity)
	assert.Equal(t, 3000, m.BodySize)
	assert.Empty(t, m.TraceParent)
	assert.Equal(t, []fault{{faultOversized, why}}, faults)

	m, _ = fromStream(2, "s", &entry{ID: "1700000000000-1", oversized: &oversize{shape: entryShape{Total: 3000, Data: 2990}, err: why}})
	assert.Equal(t, 2990, m.BodySize, "an unread envelope's length bounds its body")
}

func FuzzParseShapes(f *testing.F) {
	for _, seed := range []any{
		[]any{[]byte("1-0"), int64(4), int64(2048), int64(2059), int64(-1), []byte("1-1"), int64(-1), int64(0), int64(0), int64(-1)},
		[]any{},
		[]any{[]byte("1-0"), int64(1)},
		[]any{[]byte("1-0"), int64(1), []byte("2"), int64(1), int64(1)},
		redis.Error("NOPERM this user has no permissions to run the 'evalsha' command"),
		nil,
	} {
		f.Add(encodeRESP(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !boundedRESP(b) {
			return
		}
		reply, err := decodeRESP(b)
		if err != nil {
			return
		}
		got, err := parseShapes(reply)
		if err != nil {
			require.Nil(t, got)
			return
		}
		require.Len(t, reply, shapeFields*len(got))
		s := &source{cfg: NewDefaultConfig()}
		for i := range got {
			e := &got[i]
			require.NotEmpty(t, e.ID)
			require.GreaterOrEqual(t, min(e.Items, e.Longest, e.Total, e.Data), int64(-1))
			m, faults := fromStream(0, "s", &entry{ID: e.ID, oversized: &oversize{shape: *e, err: s.oversized(e)}})
			require.Equal(t, e.ID, m.ID)
			require.Contains(t, kinds(faults), faultOversized)
		}
	})
}
