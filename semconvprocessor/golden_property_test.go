package semconvprocessor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestGoldenSpanNamesFollowAttributes runs every golden trace input in both modes and checks each
// span the processor wrote to: its name must be "{messaging.operation.name} {destination}" (the
// destination template, else the name unless temporary or anonymous), or the operation alone
// without a destination. It reads the output, not the expected files, so a wrong expectation
// cannot hide a wrong name.
func TestGoldenSpanNamesFollowAttributes(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "traces", "*", "input.json"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	checked := 0
	for _, input := range inputs {
		b, err := os.ReadFile(input)
		require.NoError(t, err)
		for _, mode := range []Mode{ModeReplace, ModeDuplicate} {
			in, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
			require.NoError(t, err)
			before, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
			require.NoError(t, err)
			out := consumeTraces(t, mode, in)
			forEachSpanPair(before, out, func(was, span ptrace.Span) {
				if spansEqual(t, was, span) {
					return // untouched: not migrated
				}
				attrs := span.Attributes()
				op := str(attrs, keyOperationName)
				if !assert.NotEmpty(t, op, "%s %s: migrated span %q has no messaging.operation.name", input, mode, span.Name()) {
					return
				}
				dest := destinationOf(str(attrs, keyDestinationTemplate), str(attrs, keyDestinationName),
					boolAttr(attrs, keyDestinationTemp) || boolAttr(attrs, keyDestinationAnon))
				want := op
				if dest != "" {
					want = op + " " + dest
				}
				assert.Equal(t, want, span.Name(), "%s %s: span name disagrees with its attributes", input, mode)
				checked++
			})
		}
	}
	assert.Positive(t, checked)
}

func forEachSpanPair(a, b ptrace.Traces, f func(was, now ptrace.Span)) {
	for i := 0; i < a.ResourceSpans().Len(); i++ {
		for j := 0; j < a.ResourceSpans().At(i).ScopeSpans().Len(); j++ {
			sa := a.ResourceSpans().At(i).ScopeSpans().At(j).Spans()
			sb := b.ResourceSpans().At(i).ScopeSpans().At(j).Spans()
			for k := 0; k < sa.Len(); k++ {
				f(sa.At(k), sb.At(k))
			}
		}
	}
}

func spansEqual(t *testing.T, a, b ptrace.Span) bool {
	t.Helper()
	return a.Name() == b.Name() && assert.ObjectsAreEqual(a.Attributes().AsRaw(), b.Attributes().AsRaw())
}

func boolAttr(attrs pcommon.Map, key string) bool {
	v, ok := attrs.Get(key)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}
