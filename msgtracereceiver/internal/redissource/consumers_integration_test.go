package redissource

import (
	"fmt"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

const traceparentSettle = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// startWatching starts a source tapping stream with consumers enabled.
func startWatching(t *testing.T, stream string, d *sourcetest.Derived, rec *sourcetest.Recorder) {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.Streams = []StreamConfig{{Name: stream}}
	cfg.Block = 100 * time.Millisecond
	cfg.Consumers.Enabled = true
	cfg.Consumers.PollInterval = 50 * time.Millisecond
	require.NoError(t, cfg.Validate())
	require.NoError(t, cfg.Consumers.Validate())
	src, err := New(cfg, d.Settings(t, rec))
	require.NoError(t, err)
	sourcetest.Start(t, src, rec)
	t.Cleanup(func() { sourcetest.Shutdown(t, src) })
}

// readGroup reads up to n new entries of stream as consumer of group and
// returns their IDs.
func readGroup(t *testing.T, c *sourcetest.Redis, stream, group, consumer string, n int) []string {
	t.Helper()
	reply, err := redis.Values(c.Do("XREADGROUP", "GROUP", group, consumer, "COUNT", n, "STREAMS", stream, ">"))
	require.NoError(t, err)
	res, err := parseXRead(reply)
	require.NoError(t, err)
	var ids []string
	for _, st := range res {
		for _, e := range st.Entries {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// Two application groups read a stream with XREADGROUP: billing
// acknowledges every entry, audit none. Billing yields one settle span per
// entry, from the entry's creation to the poll after its XACK, child of the
// producer's span when the entry carries one; audit yields none, and its lag
// is every entry.
func TestConsumersRedisGroupsSettle(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("orders")
	t.Cleanup(func() { c.Del(stream) })
	for _, g := range []string{"billing", "audit"} {
		_, err := c.Do("XGROUP", "CREATE", stream, g, "$", "MKSTREAM")
		require.NoError(t, err)
	}
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	startWatching(t, stream, d, rec)
	d.WaitWatched(t, "billing")
	d.WaitWatched(t, "audit")

	const n = 5
	var want []string
	for i := range n {
		id := fmt.Sprintf("order-%d", i)
		h := []string{"message_id", id}
		if i == 0 {
			h = append(h, "traceparent", traceparentSettle)
		}
		_, err := c.XAdd(stream, "__data__", binary(h...)(id))
		require.NoError(t, err)
		want = append(want, id)
	}
	rec.WaitIDs(t, want...)

	ids := readGroup(t, c, stream, "billing", "worker-1", n)
	require.Len(t, ids, n)
	require.Len(t, readGroup(t, c, stream, "audit", "worker-1", n), n)
	// Read but not acknowledged yet: nothing is settled.
	time.Sleep(4 * 50 * time.Millisecond)
	assert.Empty(t, d.SettleSpans("billing"), "delivered but pending entries are not settled")

	beforeAck := time.Now()
	_, err := c.Do("XACK", redis.Args{stream, "billing"}.AddFlat(ids)...)
	require.NoError(t, err)

	spans := d.WaitSettles(t, "billing", n)
	assert.Len(t, spans, n, "one settle span per entry")
	byStart := map[int64]bool{}
	withParent := 0
	for _, s := range spans {
		assert.Equal(t, "ack "+stream, s.Name())
		op, _ := s.Attributes().Get("messaging.operation.type")
		assert.Equal(t, "settle", op.Str())
		name, _ := s.Attributes().Get("messaging.operation.name")
		assert.Equal(t, "ack", name.Str())
		assert.GreaterOrEqual(t, s.EndTimestamp().AsTime().UnixNano(), beforeAck.UnixNano(), "dated after the XACK")
		assert.LessOrEqual(t, s.StartTimestamp(), s.EndTimestamp())
		byStart[s.StartTimestamp().AsTime().UnixMilli()] = true
		if s.ParentSpanID().String() == "b7ad6b7169203331" {
			withParent++
			assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", s.TraceID().String())
		}
	}
	assert.Equal(t, 1, withParent, "the entry with a traceparent settles under the producer's span")
	for _, id := range ids {
		pos, ok := entryPosition(id)
		require.True(t, ok)
		assert.True(t, byStart[int64(pos.Hi)], "a settle span starts at entry %s's time", id)
	}
	assert.Empty(t, d.SettleSpans("audit"), "audit acknowledged nothing")

	d.WaitPoint(t, consumers.MetricLagMessages, "audit", func(p sourcetest.Point) bool { return p.Int == n })
	d.WaitPoint(t, consumers.MetricLagMessages, "billing", func(p sourcetest.Point) bool { return p.Int == 0 })
	h := d.WaitPoint(t, consumers.MetricTimeInQueue, "billing", func(p sourcetest.Point) bool { return p.Count == n })
	assert.Positive(t, h.Double, "billing's entries waited in the group")
	age, _ := d.Latest(consumers.MetricLagAge, "audit")
	assert.Positive(t, age.Double, "audit's oldest unsettled entry has an age")

	// Audit acknowledges the newest entry only: the oldest stays pending,
	// so nothing of audit is settled (the frontier is the oldest pending).
	_, err = c.Do("XACK", stream, "audit", ids[n-1])
	require.NoError(t, err)
	time.Sleep(4 * 50 * time.Millisecond)
	assert.Empty(t, d.SettleSpans("audit"), "entries behind a pending one are settled when it is")
	// Then the oldest: every entry up to the next pending one settles.
	_, err = c.Do("XACK", stream, "audit", ids[0], ids[1])
	require.NoError(t, err)
	assert.Len(t, d.WaitSettles(t, "audit", 2), 2)
}

// The taps' own group is never watched, and a deleted group is forgotten.
func TestConsumersRedisOwnGroupAndDeletedGroup(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("orders")
	t.Cleanup(func() { c.Del(stream) })
	for _, g := range []string{"billing", "audit"} {
		_, err := c.Do("XGROUP", "CREATE", stream, g, "$", "MKSTREAM")
		require.NoError(t, err)
	}

	cfg := groupConfig(stream, "taps", "a")
	cfg.Consumers.Enabled = true
	cfg.Consumers.PollInterval = 50 * time.Millisecond
	d, rec := sourcetest.NewDerived(), &sourcetest.Recorder{}
	src, err := New(cfg, d.Settings(t, rec))
	require.NoError(t, err)
	sourcetest.Start(t, src, rec)
	defer sourcetest.Shutdown(t, src)
	d.WaitWatched(t, "billing")
	d.WaitWatched(t, "audit")
	_, ok := d.Latest(consumers.MetricTimeInQueue, "taps")
	assert.False(t, ok, "the taps' own group is not watched")

	_, err = c.XAdd(stream, "__data__", binary("message_id", "m")(""))
	require.NoError(t, err)
	rec.WaitIDs(t, "m")
	d.WaitPoint(t, consumers.MetricLagMessages, "billing", func(p sourcetest.Point) bool { return p.Int == 1 })
	_, err = c.Do("XGROUP", "DESTROY", stream, "billing")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return d.InLastBatch(consumers.MetricLagMessages, "audit") && !d.InLastBatch(consumers.MetricLagMessages, "billing")
	}, sourcetest.WaitLimit, 50*time.Millisecond, "the deleted group is no longer reported")
	_, ok = d.Latest(consumers.MetricTimeInQueue, "taps")
	assert.False(t, ok, "the taps' own group is not watched")
}
