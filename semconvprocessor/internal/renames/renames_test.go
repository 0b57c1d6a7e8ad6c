package renames

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIndex(t *testing.T) {
	idx := New([]Attribute{{From: "messaging.source.name", To: "messaging.destination.name", Signals: Spans}}, false)

	a, ok := idx.Attribute(Spans, "messaging.kafka.destination.partition")
	require.True(t, ok)
	assert.Equal(t, "messaging.destination.partition.id", a.To)
	assert.Equal(t, "string", a.ToType)

	_, ok = idx.Attribute(Spans, "messaging.source.name")
	assert.True(t, ok, "extra renames are indexed")
	_, ok = idx.Attribute(Metrics, "messaging.source.name")
	assert.False(t, ok, "for their signals only")
	_, ok = idx.Attribute(Metrics, "messaging.message.payload_size_bytes")
	assert.False(t, ok, "the schema renames it for spans only")

	for _, current := range []string{"messaging.system", "messaging.destination.name", "messaging.operation.type", "messaging.kafka.offset", ""} {
		_, ok := idx.Attribute(Spans, current)
		assert.False(t, ok, current)
	}

	for word, want := range map[string]string{"publish": "send", "deliver": "process", "create": "create", "receive": "receive", "settle": "settle"} {
		got, ok := idx.Operation(word)
		assert.True(t, ok, word)
		assert.Equal(t, want, got, word)
	}
	_, ok = idx.Operation("logappend")
	assert.False(t, ok)

	v, ok := idx.OperationValue("publish")
	assert.True(t, ok)
	assert.Equal(t, "send", v)
	_, ok = idx.OperationValue("send")
	assert.False(t, ok, "current values are not renamed")

	m, ok := idx.MetricRename("messaging.publish.duration")
	require.True(t, ok)
	assert.Equal(t, "messaging.client.operation.duration", m.To)
	cur, ok := idx.Metric(m.To)
	require.True(t, ok)
	assert.Equal(t, "s", cur.Unit)
	assert.Equal(t, "https://opentelemetry.io/schemas/1.44.0", SchemaURL())
}

// TestRemovedAttributes checks the drops an Index built with dropRemoved holds: a removed key,
// a deprecated key renamed into a removed one, and not a removed key that an extra rename renames.
func TestRemovedAttributes(t *testing.T) {
	extra := []Attribute{{From: "messaging.source.name", To: "messaging.destination.name", ToType: "string", Signals: Spans | Metrics}}
	keep, drop := New(extra, false), New(extra, true)
	for _, sig := range []Signal{Spans, Metrics} {
		_, ok := keep.Attribute(sig, "messaging.destination.kind")
		assert.False(t, ok, "kept: a removed key is not looked up")
		a, ok := drop.Attribute(sig, "messaging.destination.kind")
		require.True(t, ok)
		assert.Empty(t, a.To, "dropped")
		a, ok = drop.Attribute(sig, "messaging.source.name")
		require.True(t, ok)
		assert.Equal(t, "messaging.destination.name", a.To, "an extra rename wins over the drop")
	}
	a, ok := keep.Attribute(Spans, "messaging.destination_kind")
	require.True(t, ok)
	assert.Equal(t, "messaging.destination.kind", a.To, "kept: renamed into the removed key")
	a, ok = drop.Attribute(Spans, "messaging.destination_kind")
	require.True(t, ok)
	assert.Empty(t, a.To, "dropped with the key it was renamed into")
	a, ok = drop.Attribute(Spans, "messaging.destination")
	require.True(t, ok)
	assert.Equal(t, "messaging.destination.name", a.To, "other renames are unaffected")

	keys := map[string]string{}
	for _, r := range RemovedAttributes() {
		keys[r.Key] = r.LastRelease
	}
	assert.Equal(t, "v1.16.0", keys["messaging.url"])
	assert.Equal(t, "v1.19.0", keys["messaging.destination.kind"])
}

// TestKeyTable covers the three kinds of slot: empty, one key, keys that share length and last
// byte (looked up in the map).
func TestKeyTable(t *testing.T) {
	tb := newKeyTable()
	for _, k := range []string{"aaa.x", "bbb.x", "cc.y", "a-key-longer-than-sixty-four-bytes-which-the-slots-do-not-cover-at-all"} {
		tb.add(&Attribute{From: k, To: k + ".new"})
	}
	for _, k := range []string{"aaa.x", "bbb.x", "cc.y", "a-key-longer-than-sixty-four-bytes-which-the-slots-do-not-cover-at-all"} {
		a, ok := tb.get(k)
		require.True(t, ok, k)
		assert.Equal(t, k+".new", a.To)
	}
	for _, k := range []string{"ccc.x", "dd.y", "zz.z", "", "x"} {
		_, ok := tb.get(k)
		assert.False(t, ok, k)
	}
	// Adding a key again replaces its rename without making the slot shared.
	tb.add(&Attribute{From: "cc.y", To: "other"})
	a, ok := tb.get("cc.y")
	require.True(t, ok)
	assert.Equal(t, "other", a.To)
}
