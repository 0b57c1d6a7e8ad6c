package redissource

import (
	"fmt"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// groupInfo returns XINFO GROUPS of stream as group name -> field -> value.
func groupInfo(t *testing.T, c *sourcetest.Redis, stream string) map[string]map[string]any {
	t.Helper()
	groups, err := redis.Values(c.Do("XINFO", "GROUPS", stream))
	require.NoError(t, err)
	out := map[string]map[string]any{}
	for _, g := range groups {
		kv, err := redis.Values(g, nil)
		require.NoError(t, err)
		fields := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := redis.String(kv[i], nil)
			fields[k] = kv[i+1]
		}
		name, _ := redis.String(fields["name"], nil)
		out[name] = fields
	}
	return out
}

func groupConfig(stream, group, consumer string) *Config {
	cfg := NewDefaultConfig()
	cfg.Streams = []StreamConfig{{Name: stream, StartID: StartAll}}
	cfg.Group = GroupConfig{Name: group, Consumer: consumer, ClaimIdle: time.Second}
	cfg.Block = 100 * time.Millisecond
	return cfg
}

// Two replicas in the taps' group split a stream's entries: each entry is
// traced once, every one is acknowledged in the taps' group, and neither
// the entries nor an application's group on the same stream change.
func TestStreamsGroupSplitsEntries(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("orders")
	group := sourcetest.Unique("otelcol-msgtrace")
	t.Cleanup(func() { c.Del(stream) })
	first, err := c.XAdd(stream, "__data__", binary("message_id", "before")(""))
	require.NoError(t, err)
	_, err = c.Do("XGROUP", "CREATE", stream, "billing", "0")
	require.NoError(t, err)

	recA, recB := &sourcetest.Recorder{}, &sourcetest.Recorder{}
	srcA, _ := startSource(t, groupConfig(stream, group, "a"), recA)
	defer sourcetest.Shutdown(t, srcA)
	srcB, _ := startSource(t, groupConfig(stream, group, "b"), recB)
	defer sourcetest.Shutdown(t, srcB)

	const n = 300
	want := []string{"before"}
	for i := range n {
		id := fmt.Sprintf("order-%03d", i)
		want = append(want, id)
		_, err := c.XAdd(stream, "__data__", binary("message_id", id)(id))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(recA.Messages())+len(recB.Messages()) >= len(want) },
		sourcetest.WaitLimit, 50*time.Millisecond, "the two replicas traced %d+%d of %d entries",
		len(recA.Messages()), len(recB.Messages()), len(want))
	a, b := recA.ByID(), recB.ByID()
	for _, id := range want {
		assert.Equal(t, 1, len(a[id])+len(b[id]), "entry %s traced once over both replicas", id)
	}
	assert.NotEmpty(t, a, "replica a traced entries")
	assert.NotEmpty(t, b, "replica b traced entries")
	assert.Equal(t, "redis/0/stream/"+stream+"/"+first, append(a["before"], b["before"]...)[0].Identity,
		"the identity does not depend on the replica")

	require.Eventually(t, func() bool {
		p, _ := redis.Int64(groupInfo(t, c, stream)[group]["pending"], nil)
		return p == 0
	}, sourcetest.WaitLimit, 50*time.Millisecond, "every entry acknowledged in the taps' group")
	l, err := redis.Int(c.Do("XLEN", stream))
	require.NoError(t, err)
	assert.Equal(t, n+1, l, "no entry removed")
	app := groupInfo(t, c, stream)["billing"]
	last, _ := redis.String(app["last-delivered-id"], nil)
	pending, _ := redis.Int64(app["pending"], nil)
	assert.Equal(t, "0-0", last, "the application's group reads nothing through the tap")
	assert.Zero(t, pending)
}

// Entries a consumer of the taps' group read and never acknowledged (it
// died) are claimed after claim_idle and traced by a live replica.
func TestStreamsGroupClaimsWhatADeadReplicaLeft(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("payments")
	group := sourcetest.Unique("otelcol-msgtrace")
	t.Cleanup(func() { c.Del(stream) })
	var left []string
	for i := range 10 {
		id := fmt.Sprintf("left-%d", i)
		left = append(left, id)
		_, err := c.XAdd(stream, "__data__", binary("message_id", id)(id))
		require.NoError(t, err)
	}
	_, err := c.Do("XGROUP", "CREATE", stream, group, "0")
	require.NoError(t, err)
	// The dead replica: read, never acknowledged.
	_, err = c.Do("XREADGROUP", "GROUP", group, "dead", "COUNT", 10, "STREAMS", stream, ">")
	require.NoError(t, err)

	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, groupConfig(stream, group, "live"), rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitIDs(t, left...)
	for _, id := range left {
		assert.Len(t, rec.ByID()[id], 1, "%s traced once", id)
	}
	require.Eventually(t, func() bool {
		p, _ := redis.Int64(groupInfo(t, c, stream)[group]["pending"], nil)
		return p == 0
	}, sourcetest.WaitLimit, 50*time.Millisecond, "the claimed entries are acknowledged")
}

// A replica that restarts under the same consumer name traces first what
// it had read but not acknowledged.
func TestStreamsGroupResumesOwnPending(t *testing.T) {
	requireServer(t)
	c := producer(t)
	stream := sourcetest.Unique("audit")
	group := sourcetest.Unique("otelcol-msgtrace")
	t.Cleanup(func() { c.Del(stream) })
	_, err := c.XAdd(stream, "__data__", binary("message_id", "mine")(""))
	require.NoError(t, err)
	_, err = c.Do("XGROUP", "CREATE", stream, group, "0")
	require.NoError(t, err)
	_, err = c.Do("XREADGROUP", "GROUP", group, "me", "COUNT", 10, "STREAMS", stream, ">")
	require.NoError(t, err)

	cfg := groupConfig(stream, group, "me")
	cfg.Group.ClaimIdle = time.Hour // only its own pending list can bring the entry back
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitIDs(t, "mine")
}
