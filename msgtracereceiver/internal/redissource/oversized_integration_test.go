package redissource

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// smallCaps is a config whose caps a test entry passes easily: 1 KiB bulk
// strings, and max_batch_size entries of a few fields per reply.
func smallCaps(cfg *Config, batch int) *Config {
	cfg.MaxBulkBytes = 1 << 10
	cfg.MaxBatchSize = batch
	cfg.MaxReplyElements = int64(4*batch + 64)
	cfg.Block = 100 * time.Millisecond
	cfg.Reconnect.InitialInterval, cfg.Reconnect.MaxInterval = 10*time.Millisecond, 50*time.Millisecond
	return cfg
}

// addEntries adds to stream small FastStream entries named prefix-0..n-1.
func addEntries(t *testing.T, c *sourcetest.Redis, stream, prefix string, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		_, err := c.XAdd(stream, "__data__", binary("message_id", id, "traceparent", traceparentA)("x"))
		require.NoError(t, err)
		out = append(out, id)
	}
	return out
}

// checkOversized checks the span of the oversized entry id: no creation
// context, the entry ID as message ID, the stream as destination, one
// oversized fault and no protocol fault.
func checkOversized(t *testing.T, rec *sourcetest.Recorder, stream, id string, size int) {
	t.Helper()
	got := rec.ByID()[id]
	require.Len(t, got, 1, "the oversized entry yields one span")
	m := got[0]
	assert.Empty(t, m.TraceParent, "its fields were not read")
	assert.Equal(t, stream, m.Destination)
	assert.Equal(t, "redis/0/stream/"+stream+"/"+id, m.Identity)
	assert.Equal(t, size, m.BodySize)
	ts, err := entryTime(id)
	require.NoError(t, err)
	assert.Equal(t, ts, m.Timestamp)
	assert.Equal(t, 1, countKind(rec.Faults(), faultOversized), "faults %v", rec.Faults())
	assert.Zero(t, countKind(rec.Faults(), faultProtocol), "an oversized entry explains the closed connection")
}

// An entry beyond max_bulk_bytes used to stall its stream for ever: every
// reconnect read from the same position into the same entry. Now it yields
// a span without its fields and the tap reads on after it, whether the
// entry comes alone in a read or within a batch, with XREAD and through a
// group.
func TestStreamsOversizedEntryCostsOnlyItself(t *testing.T) {
	requireServer(t)
	for _, tc := range []struct {
		name  string
		batch int
		group bool
	}{
		{"xread batch", 50, false},
		{"xread alone", 1, false},
		{"group batch", 50, true},
		{"group alone", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := producer(t)
			stream := sourcetest.Unique("big")
			t.Cleanup(func() { c.Del(stream) })
			var cfg *Config
			if tc.group {
				cfg = groupConfig(stream, sourcetest.Unique("taps"), "a")
			} else {
				cfg = NewDefaultConfig()
				cfg.Streams = []StreamConfig{{Name: stream, StartID: StartAll}}
			}
			cfg = smallCaps(cfg, tc.batch)
			before := addEntries(t, c, stream, "before", 3)
			big, err := c.XAdd(stream, "order", "42", "blob", strings.Repeat("x", 2<<10))
			require.NoError(t, err)
			after := addEntries(t, c, stream, "after", 3)

			rec := &sourcetest.Recorder{}
			src, _ := startSource(t, cfg, rec)
			defer sourcetest.Shutdown(t, src)
			rec.WaitIDs(t, append(append(before, big), after...)...)
			rec.WaitTapping(t, "later", func(id string) { addEntries(t, c, stream, id, 1) })
			checkOversized(t, rec, stream, big, len("order42blob")+2<<10)
			for _, id := range append(before, after...) {
				assert.Equal(t, traceparentA, rec.ByID()[id][0].TraceParent, id)
			}
			if tc.group {
				// Acknowledged after the pipeline accepted the spans.
				require.Eventually(t, func() bool {
					pending, err := redis.Values(c.Do("XPENDING", stream, cfg.Group.Name, "-", "+", 100))
					return err == nil && len(pending) == 0
				}, sourcetest.WaitLimit, 10*time.Millisecond, "every entry, the oversized one too, is acknowledged")
			}
		})
	}
}

// Entries that fit one at a time but not max_batch_size together (here by
// max_reply_elements) pass one by one; an entry with more fields than a
// reply may hold alone is oversized, and its size is not known from an
// envelope, so it is the fields' total.
func TestStreamsEntriesBeyondTheCapsOnlyTogether(t *testing.T) {
	requireServer(t)
	for _, group := range []bool{false, true} {
		t.Run(fmt.Sprint("group=", group), func(t *testing.T) {
			c := producer(t)
			stream := sourcetest.Unique("wide")
			t.Cleanup(func() { c.Del(stream) })
			var cfg *Config
			if group {
				cfg = groupConfig(stream, sourcetest.Unique("taps"), "a")
			} else {
				cfg = NewDefaultConfig()
				cfg.Streams = []StreamConfig{{Name: stream, StartID: StartAll}}
			}
			cfg = smallCaps(cfg, 10) // 104 elements a reply
			fields := func(id string, n int) []string {
				out := []string{"message_id", id}
				for i := range n - 1 {
					out = append(out, fmt.Sprint("f", i), "v")
				}
				return out
			}
			var wide []string
			for i := range 4 { // 60 elements each: two do not fit one reply
				id := fmt.Sprint("wide-", i)
				_, err := c.XAdd(stream, fields(id, 30)...)
				require.NoError(t, err)
				wide = append(wide, id)
			}
			huge := fields("huge", 60) // 120 elements: not even alone
			hugeID, err := c.XAdd(stream, huge...)
			require.NoError(t, err)
			after := addEntries(t, c, stream, "after", 2)

			rec := &sourcetest.Recorder{}
			src, _ := startSource(t, cfg, rec)
			defer sourcetest.Shutdown(t, src)
			rec.WaitIDs(t, append(append(wide, hugeID), after...)...)
			size := 0
			for _, f := range huge {
				size += len(f)
			}
			got := rec.ByID()[hugeID]
			require.Len(t, got, 1)
			assert.Equal(t, size, got[0].BodySize)
			assert.Equal(t, 1, countKind(rec.Faults(), faultOversized), "faults %v", rec.Faults())
			for _, id := range append(wide, after...) {
				assert.Len(t, rec.ByID()[id], 1, id)
			}
		})
	}
}

// With scripting refused (EVAL denied to the tap's ACL user) the tap
// cannot tell an oversized entry from a batch too large: entries that fit
// alone still pass, then it stays before the oversized entry, counts
// protocol faults and logs at error level the stream, its position and
// what to do.
func TestStreamsOversizedScriptingRefused(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("noscript")
	user := sourcetest.Unique("tap")
	_, err := c.Do("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", "-eval", "-evalsha")
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Do("ACL", "DELUSER", user)
		c.Del(stream)
	})
	cfg := NewDefaultConfig()
	cfg.Streams = []StreamConfig{{Name: stream, StartID: StartAll}}
	cfg = smallCaps(cfg, 50)
	cfg.Username, cfg.Password = user, "secret"
	before := addEntries(t, c, stream, "before", 3)
	lastBefore, err := redis.Values(c.Do("XREVRANGE", stream, "+", "-", "COUNT", 1))
	require.NoError(t, err)
	entryReply, err := redis.Values(lastBefore[0], nil)
	require.NoError(t, err)
	pos, err := redis.String(entryReply[0], nil)
	require.NoError(t, err)
	_, err = c.XAdd(stream, "blob", strings.Repeat("x", 2<<10))
	require.NoError(t, err)
	addEntries(t, c, stream, "after", 1)

	tune, logs := observe()
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec, tune)
	defer sourcetest.Shutdown(t, src)
	rec.WaitIDs(t, before...)
	// The first careful read starts where the failed batch did; from the
	// next on, the log names the position right before the entry.
	require.Eventually(t, func() bool {
		for _, e := range logs.FilterMessageSnippet("cannot describe the entries after its position").All() {
			f := e.ContextMap()
			if f["stream"] == stream && f["after"] == pos && strings.Contains(fmt.Sprint(f["error"]), "NOPERM") {
				return true
			}
		}
		return false
	}, sourcetest.WaitLimit, 10*time.Millisecond, "an error log names the stream and the position before the oversized entry")
	require.Eventually(t, func() bool { return countKind(rec.Faults(), faultProtocol) >= 2 }, sourcetest.WaitLimit, 10*time.Millisecond)
	assert.Zero(t, countKind(rec.Faults(), faultOversized))
	assert.Len(t, rec.Messages(), len(before), "the tap stays before the entry it cannot read")
}

// start_id $ resolves to the stream's last ID without XINFO STREAM's
// first and last entries: an oversized one there used to fail every
// connection before the first read.
func TestStreamsStartNewPastAnOversizedEntry(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("bigfirst")
	t.Cleanup(func() { c.Del(stream) })
	_, err := c.XAdd(stream, "blob", strings.Repeat("x", 2<<10))
	require.NoError(t, err)
	cfg := NewDefaultConfig()
	cfg.Streams = []StreamConfig{{Name: stream}}
	cfg = smallCaps(cfg, 50)
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitTapping(t, "new", func(id string) { addEntries(t, c, stream, id, 1) })
	assert.Empty(t, rec.Faults(), "the oversized entry was there before start_id $")
}

// An oversized entry a dead replica left pending fails the XAUTOCLAIM
// that takes it over; it is then pending on this replica, whose careful
// reads trace and acknowledge it with the rest.
func TestStreamsGroupClaimsAnOversizedEntry(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("bigclaim")
	group := sourcetest.Unique("taps")
	t.Cleanup(func() { c.Del(stream) })
	before := addEntries(t, c, stream, "before", 2)
	big, err := c.XAdd(stream, "blob", strings.Repeat("x", 2<<10))
	require.NoError(t, err)
	after := addEntries(t, c, stream, "after", 2)
	_, err = c.Do("XGROUP", "CREATE", stream, group, "0")
	require.NoError(t, err)
	// The dead replica: read (without caps), never acknowledged.
	_, err = c.Do("XREADGROUP", "GROUP", group, "dead", "COUNT", 10, "STREAMS", stream, ">")
	require.NoError(t, err)

	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, smallCaps(groupConfig(stream, group, "live"), 50), rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitIDs(t, append(append(before, big), after...)...)
	checkOversized(t, rec, stream, big, len("blob")+2<<10)
	require.Eventually(t, func() bool {
		p, _ := redis.Int64(groupInfo(t, c, stream)[group]["pending"], nil)
		return p == 0
	}, sourcetest.WaitLimit, 50*time.Millisecond, "the claimed entries are acknowledged")
}
