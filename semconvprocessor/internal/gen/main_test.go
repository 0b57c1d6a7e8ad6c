package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	semconvDir = "../../third_party/semconv"
	historyDir = "../../third_party/semconv-history"
	tableFile  = "../renames/generated_table.go"
	docFile    = "../../mapping.md"
)

// TestGeneratedTableIsCurrent fails when the committed table or its documentation differs from
// what the generator writes from the committed semconv files: run `make generate` (or
// `go generate ./...`).
func TestGeneratedTableIsCurrent(t *testing.T) {
	src, doc, err := generate(semconvDir, historyDir, "1.44.0")
	require.NoError(t, err)
	for file, want := range map[string][]byte{tableFile: src, docFile: doc} {
		got, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s is stale: run `make generate`", file)
	}
}

func TestBuildFromSemconv144(t *testing.T) {
	schema, err := readSchema(filepath.Join(semconvDir, "schemas", "1.44.0"))
	require.NoError(t, err)
	md, err := readModel(filepath.Join(semconvDir, "model", "messaging"))
	require.NoError(t, err)
	tb, err := build(schema, md)
	require.NoError(t, err)

	attrs := map[string]attrRow{}
	for _, a := range tb.attributes {
		key := a.from
		if !a.spans {
			key += " (metrics)"
		}
		attrs[key] = a
	}
	// A chain across versions: 1.17 renamed messaging.kafka.partition, 1.25 renamed the result.
	assert.Equal(t, "messaging.destination.partition.id", attrs["messaging.kafka.partition"].to)
	assert.Equal(t, []string{"messaging.kafka.destination.partition (1.25.0)"}, attrs["messaging.kafka.partition"].via)
	// The type of the new key comes from the registry.
	assert.Equal(t, "string", attrs["messaging.kafka.destination.partition"].toType)
	// The schema renames messaging.kafka.destination.partition for spans only; the deprecated
	// model deprecates it for every signal.
	assert.True(t, attrs["messaging.kafka.destination.partition"].metrics)
	// The deprecated model adds renames the schema lacks for spans.
	assert.Equal(t, "messaging.client.id", attrs["messaging.kafka.client_id"].to)
	// Only messaging attributes are generated.
	for from := range attrs {
		assert.Regexp(t, `^messaging\.`, from)
	}

	assert.Equal(t, []string{"create", "process", "receive", "send", "settle"}, tb.operations)
	assert.Equal(t, []valueRow{
		{attribute: operationTypeKey, from: "deliver", to: "process"},
		{attribute: operationTypeKey, from: "publish", to: "send"},
	}, tb.values)
	assert.Equal(t, []string{"messaging.destination_publish.anonymous", "messaging.destination_publish.name"}, tb.obsolete)

	metrics := map[string]metricRenameRow{}
	for _, m := range tb.metricRenames {
		metrics[m.from] = m
	}
	assert.Equal(t, metricRenameRow{
		from: "messaging.publish.messages", to: "messaging.client.sent.messages", version: "1.27.0", operation: "send",
		via: []string{"messaging.client.published.messages (1.28.0)"},
	}, metrics["messaging.publish.messages"])
	assert.Equal(t, "messaging.client.operation.duration", metrics["messaging.receive.duration"].to)
	assert.Equal(t, "receive", metrics["messaging.receive.duration"].operation)
	assert.Empty(t, metrics["messaging.client.published.messages"].operation)
	assert.NotContains(t, metrics, "k8s.node.memory.paging.faults", "non-messaging metrics are not generated")

	for _, m := range tb.metrics {
		if m.name == "messaging.client.operation.duration" {
			assert.True(t, m.operationType)
			assert.Equal(t, "histogram", m.instrument)
		}
		if m.name == "messaging.process.duration" {
			assert.Equal(t, "process", m.operation)
			assert.False(t, m.operationType)
		}
	}
}

// TestRemovedFromHistory checks the removed list against what the committed past releases say:
// attributes dropped without a deprecation entry are listed, current, deprecated and renamed ones
// are not.
func TestRemovedFromHistory(t *testing.T) {
	history, err := readHistory(historyDir)
	require.NoError(t, err)
	assert.Equal(t, "v1.16.0", history["messaging.url"], "last defined in 1.16")
	assert.Equal(t, "v1.21.0", history["messaging.message.payload_compressed_size_bytes"])
	assert.Equal(t, "v1.20.0", history["messaging.kafka.source.partition"], "relative ids take their group's prefix")

	md, err := readModel(filepath.Join(semconvDir, "model", "messaging"))
	require.NoError(t, err)
	renamed := map[string]bool{"messaging.destination_kind": true}
	got := map[string]bool{}
	for _, r := range removedAttributes(history, md, renamed) {
		got[r.key] = true
	}
	for _, key := range []string{"messaging.url", "messaging.destination.kind", "messaging.source.kind", "messaging.source.name", "messaging.consumer.id"} {
		assert.True(t, got[key], key)
	}
	for _, key := range []string{"messaging.system", "messaging.destination.name", "messaging.destination_publish.name", "messaging.destination_kind"} {
		assert.False(t, got[key], "%s is current, deprecated or renamed", key)
	}

	_, err = readHistory(t.TempDir())
	assert.Error(t, err, "no history files")
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "repo", "latest"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "repo", "latest", "m.yaml"), []byte("groups: []\n"), 0o600))
	_, err = readHistory(dir)
	assert.ErrorContains(t, err, "latest", "a directory that is not a release tag")
}

func TestClosure(t *testing.T) {
	tests := []struct {
		name   string
		blocks []block
		want   map[string]string
	}{
		{
			name:   "chain",
			blocks: []block{{"1.1.0", map[string]string{"a": "b"}}, {"1.2.0", map[string]string{"b": "c"}}},
			want:   map[string]string{"a": "c", "b": "c"},
		},
		{
			name:   "renames in one block are simultaneous",
			blocks: []block{{"1.1.0", map[string]string{"a": "b", "x": "y"}}},
			want:   map[string]string{"a": "b", "x": "y"},
		},
		{
			name:   "a later rename of the same key wins",
			blocks: []block{{"1.1.0", map[string]string{"a": "b"}}, {"1.2.0", map[string]string{"a": "c"}}},
			want:   map[string]string{"a": "c"},
		},
		{
			name:   "renamed back: the key is current again",
			blocks: []block{{"1.1.0", map[string]string{"a": "b"}}, {"1.2.0", map[string]string{"b": "a"}}},
			want:   map[string]string{"b": "a"},
		},
		{
			name:   "a target that was renamed away is current again",
			blocks: []block{{"1.1.0", map[string]string{"b": "c"}}, {"1.2.0", map[string]string{"a": "b"}}},
			want:   map[string]string{"a": "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := closure{}
			for _, b := range tt.blocks {
				require.NoError(t, c.apply(b))
			}
			got := map[string]string{}
			for k, r := range c {
				got[k] = r.to
			}
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("a chain inside one block is an error", func(t *testing.T) {
		err := closure{}.apply(block{"1.1.0", map[string]string{"a": "b", "b": "c"}})
		assert.ErrorContains(t, err, "same change")
	})
}

func TestSortedVersions(t *testing.T) {
	got, err := sortedVersions(map[string]*versionDef{"1.10.0": nil, "1.4.0": nil, "1.9.1": nil, "1.23.1": nil, "1.23.0": nil})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.4.0", "1.9.1", "1.10.0", "1.23.0", "1.23.1"}, got)

	_, err = sortedVersions(map[string]*versionDef{"1.x": nil})
	assert.Error(t, err)
}

func TestGenerateRejectsBadInput(t *testing.T) {
	_, _, err := generate(semconvDir, historyDir, "1.43.0")
	assert.Error(t, err, "no schema file for that version")

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "schemas"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schemas", "1.44.0"),
		[]byte("file_format: 1.1.0\nschema_url: https://opentelemetry.io/schemas/1.44.0\nversions:\n  1.44.0:\n    spans:\n      changes:\n        - rename_spans: {}\n"), 0o600))
	_, _, err = generate(dir, historyDir, "1.44.0")
	assert.ErrorContains(t, err, "rename_spans", "an unknown change kind must not be skipped silently")
}
