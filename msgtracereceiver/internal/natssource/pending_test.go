package natssource

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

func TestPendingQueueBounds(t *testing.T) {
	r := record{subject: "orders", header: nats.Header{"traceparent": {traceparentA}}}
	c := cost(&r)

	q := newPendingQueue(3, 10*c)
	for range 3 {
		require.True(t, q.push(r))
	}
	assert.False(t, q.push(r), "the message bound drops the newest")
	msgs, bytes, dropped := q.stats()
	assert.Equal(t, 3, msgs)
	assert.Equal(t, 3*c, bytes)
	assert.Equal(t, uint64(1), dropped)

	q = newPendingQueue(100, 2*c+c/2)
	require.True(t, q.push(r))
	require.True(t, q.push(r))
	assert.False(t, q.push(r), "the byte bound drops the newest")
	got, ok := q.pop(context.Background())
	require.True(t, ok)
	assert.Equal(t, "orders", got.subject)
	assert.True(t, q.push(r), "popping frees its bytes")
	for range 3 {
		_, ok := q.pop(context.Background())
		if !ok {
			break
		}
		if msgs, _, _ := q.stats(); msgs == 0 {
			break
		}
	}
	_, bytes, dropped = q.stats()
	assert.Equal(t, uint64(1), dropped)
	assert.GreaterOrEqual(t, bytes, 0)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	empty := newPendingQueue(1, c)
	_, ok = empty.pop(ctx)
	assert.False(t, ok, "pop ends with its context")
}

// What spans do not need is not kept: the payload (only its size) and
// the headers other than trace context, baggage and ids.
func TestRecordsKeepOnlyWhatSpansNeed(t *testing.T) {
	m := &nats.Msg{Subject: "orders", Data: make([]byte, 1<<20), Header: nats.Header{
		"Traceparent": {traceparentA}, "message_id": {"m1"}, "x-blob": {strings.Repeat("x", 1<<16)},
	}}
	r := fromCore(m)
	assert.Equal(t, 1<<20, r.size)
	assert.Equal(t, nats.Header{"Traceparent": {traceparentA}, "message_id": {"m1"}}, r.header)
	assert.Less(t, cost(&r), 1024)
}

// A stalled pipeline and many large core messages: the tap's memory stays
// bounded (the queue holds records, not payloads), measured with the
// queue's own byte accounting and the heap after GC. Before the queue
// kept records, 400 x 512 KiB messages stayed on the heap (~200 MiB).
func TestCoreMemoryBoundedWithStalledPipeline(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	subject := sourcetest.Unique("big")
	cfg := NewDefaultConfig()
	cfg.Servers = []string{"nats://" + serverAddr}
	cfg.Subjects = []string{subject}
	cfg.MaxBatchSize = 1
	rec := &sourcetest.Recorder{Block: true}
	src := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	s := src.(*source)
	queued := func() int { n, _, _ := s.core.stats(); return n }

	// The first messages fill the blocked delivery and the records channel;
	// probe until one waits in the queue: the subscription is live.
	require.Eventually(t, func() bool {
		require.NoError(t, nc.Publish(subject, nil))
		return queued() > 0
	}, sourcetest.WaitLimit, 20*time.Millisecond)
	before := queued()

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	const n, size = 400, 512 << 10
	payload := make([]byte, size)
	for i := range n {
		require.NoError(t, nc.Publish(subject, payload))
		if i%10 == 0 {
			require.NoError(t, nc.Flush())
		}
	}
	require.NoError(t, nc.Flush())
	require.Eventually(t, func() bool { return queued() >= before+n }, sourcetest.WaitLimit, 20*time.Millisecond,
		"every message is queued (queued %d, before %d, faults %v, subs %v)", queued(), before, rec.Faults(), subStats(s))

	msgs, bytes, dropped := s.core.stats()
	assert.Zero(t, dropped)
	assert.LessOrEqual(t, msgs, cfg.PendingLimit)
	assert.LessOrEqual(t, bytes, msgs*2*recordOverhead, "a queued record does not hold its payload")
	grown := int64(heap()) - int64(base)
	assert.Less(t, grown, int64(32<<20), "heap grew by %d MiB for %d MiB of payloads", grown>>20, n*size>>20)
}

// With small bounds, what does not fit is dropped and counted, never
// blocking the client; the queue never holds more than its bounds.
func TestCoreDropsBeyondBoundsAreCounted(t *testing.T) {
	requireServer(t)
	nc := producer(t)
	subject := sourcetest.Unique("drops")
	cfg := NewDefaultConfig()
	cfg.Servers = []string{"nats://" + serverAddr}
	cfg.Subjects = []string{subject}
	cfg.MaxBatchSize = 1
	cfg.PendingLimit = 10
	rec := &sourcetest.Recorder{Block: true}
	src := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	s := src.(*source)

	require.Eventually(t, func() bool {
		require.NoError(t, nc.Publish(subject, nil))
		_, _, dropped := s.core.stats()
		return dropped > 0
	}, sourcetest.WaitLimit, 5*time.Millisecond)
	msgs, _, dropped := s.core.stats()
	assert.LessOrEqual(t, msgs, cfg.PendingLimit)
	require.Eventually(t, func() bool {
		return rec.DroppedFor(message.DropTapBehind) >= int64(dropped)
	}, sourcetest.WaitLimit, 50*time.Millisecond, "every drop is counted as a message dropped with reason tap_behind")
	assert.NotContains(t, rec.Faults(), "dropped", "a drop is not a wire fault")
}

func subStats(s *source) []string {
	var out []string
	for _, sub := range *s.coreSubs.Load() {
		p, pb, _ := sub.Pending()
		d, _ := sub.Delivered()
		dr, _ := sub.Dropped()
		out = append(out, fmt.Sprint(p, pb, d, dr))
	}
	return out
}

func TestValidatePendingBytesLimit(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Subjects = []string{"orders"}
	require.NoError(t, cfg.Validate())
	cfg.PendingBytesLimit = 1000
	assert.ErrorContains(t, cfg.Validate(), "pending_bytes_limit must be at least 65536, got 1000")
}
