package semconvprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

// TestRemovedAttributes checks removed_attributes: drop removes the attributes semconv removed
// (and the deprecated keys renamed into them) in both modes and migrates a span whose only old
// attribute is one of them; keep leaves them.
func TestRemovedAttributes(t *testing.T) {
	attrs := map[string]any{
		"messaging.system": "kafka", "messaging.destination.name": "orders",
		"messaging.operation.type": "send", "messaging.operation.name": "send",
		"messaging.destination.kind": "topic", "messaging.url": "kafka://broker:9092",
	}
	for _, tt := range []struct {
		mode    Mode
		removed RemovedAttributes
		want    []string // removed keys left
		schema  string
	}{
		{ModeReplace, RemovedDrop, nil, "https://opentelemetry.io/schemas/1.44.0"},
		{ModeDuplicate, RemovedDrop, nil, "https://opentelemetry.io/schemas/1.44.0"},
		{ModeReplace, RemovedKeep, []string{"messaging.destination.kind", "messaging.url"}, ""},
	} {
		t.Run(string(tt.mode)+"/"+string(tt.removed), func(t *testing.T) {
			p, err := newSemconvProcessor(processortest.NewNopSettings(NewFactory().Type()), &Config{Mode: tt.mode, RemovedAttributes: tt.removed})
			require.NoError(t, err)
			td, span := oneSpan(t, "send orders", ptrace.SpanKindProducer, attrs)
			process(t, p, td)
			var left []string
			for _, k := range []string{"messaging.destination.kind", "messaging.url"} {
				if has(span.Attributes(), k) {
					left = append(left, k)
				}
			}
			assert.Equal(t, tt.want, left)
			assert.Equal(t, tt.schema, td.ResourceSpans().At(0).ScopeSpans().At(0).SchemaUrl())
		})
	}

	t.Run("renamed into a removed key", func(t *testing.T) {
		for _, mode := range []Mode{ModeReplace, ModeDuplicate} {
			td, span := oneSpan(t, "orders send", ptrace.SpanKindProducer, map[string]any{
				"messaging.system": "kafka", "messaging.destination": "orders", "messaging.destination_kind": "topic",
				"messaging.operation": "send",
			})
			process(t, newTestProcessor(t, mode), td)
			assert.False(t, has(span.Attributes(), "messaging.destination_kind"), mode)
			assert.False(t, has(span.Attributes(), "messaging.destination.kind"), mode)
			assert.Equal(t, "orders", str(span.Attributes(), "messaging.destination.name"), mode)
		}
	})
	t.Run("the consume-side destination is renamed, not dropped", func(t *testing.T) {
		td, span := oneSpan(t, "stock receive", ptrace.SpanKindConsumer, map[string]any{
			"messaging.system": "kafka", "messaging.source.name": "stock", "messaging.source.kind": "topic", "messaging.operation": "receive",
		})
		process(t, newTestProcessor(t, ModeReplace), td)
		assert.Equal(t, map[string]any{
			"messaging.system": "kafka", "messaging.destination.name": "stock",
			"messaging.operation.type": "receive", "messaging.operation.name": "receive",
		}, span.Attributes().AsRaw())
	})
}

// TestEveryRemovedAttributeIsDroppedOrRenamed goes through the generated list: each key is
// dropped, or renamed by a code rule.
func TestEveryRemovedAttributeIsDroppedOrRenamed(t *testing.T) {
	code := map[string]string{}
	for _, a := range codeRenames() {
		code[a.From] = a.To
	}
	require.NotEmpty(t, renames.RemovedAttributes())
	for _, r := range renames.RemovedAttributes() {
		td, span := oneSpan(t, "send orders", ptrace.SpanKindProducer, map[string]any{
			"messaging.system": "kafka", "messaging.operation.name": "send", "messaging.operation.type": "send", r.Key: "x",
		})
		process(t, newTestProcessor(t, ModeReplace), td)
		assert.False(t, has(span.Attributes(), r.Key), r.Key)
		if to, ok := code[r.Key]; ok {
			assert.True(t, has(span.Attributes(), to), "%s renamed to %s", r.Key, to)
		}
	}
}
