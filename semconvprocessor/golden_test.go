package semconvprocessor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// The golden tests run every testdata/{traces,metrics,logs}/<case>/input.json through the processor
// and compare the result with <case>/replace.json and, where it exists, <case>/duplicate.json.
//
//	go test ./semconvprocessor -run Golden -update
//
// rewrites the expected files from the processor's output. They are reviewed content: read the
// diff (git diff semconvprocessor/testdata) before committing it. To add a duplicate-mode
// expectation for a case, create an empty <case>/duplicate.json and run with -update.
var update = flag.Bool("update", false, "rewrite the expected files of the golden tests")

func TestGoldenTraces(t *testing.T) {
	runGolden(t, "traces", func(t *testing.T, mode Mode, input []byte) []byte {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(input)
		require.NoError(t, err)
		out := consumeTraces(t, mode, td)
		b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(out)
		require.NoError(t, err)
		return b
	})
}

func TestGoldenMetrics(t *testing.T) {
	runGolden(t, "metrics", func(t *testing.T, mode Mode, input []byte) []byte {
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(input)
		require.NoError(t, err)
		out := consumeMetrics(t, mode, md)
		b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(out)
		require.NoError(t, err)
		return b
	})
}

func TestGoldenLogs(t *testing.T) {
	runGolden(t, "logs", func(t *testing.T, mode Mode, input []byte) []byte {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(input)
		require.NoError(t, err)
		out := consumeLogs(t, mode, ld)
		b, err := (&plog.JSONMarshaler{}).MarshalLogs(out)
		require.NoError(t, err)
		return b
	})
}

func runGolden(t *testing.T, signal string, run func(*testing.T, Mode, []byte) []byte) {
	inputs, err := filepath.Glob(filepath.Join("testdata", signal, "*", "input.json"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, input := range inputs {
		dir := filepath.Dir(input)
		for _, mode := range []Mode{ModeReplace, ModeDuplicate} {
			expectedFile := filepath.Join(dir, string(mode)+".json")
			if _, err := os.Stat(expectedFile); mode == ModeDuplicate && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			t.Run(filepath.Base(dir)+"/"+string(mode), func(t *testing.T) {
				in, err := os.ReadFile(input)
				require.NoError(t, err)
				got := normalize(t, run(t, mode, in))
				if *update {
					require.NoError(t, os.WriteFile(expectedFile, got, 0o600))
					return
				}
				want, err := os.ReadFile(expectedFile)
				require.NoError(t, err)
				require.Equal(t, string(want), string(got), "output differs from %s", expectedFile)

				// Migrated telemetry is current: a second pass changes nothing.
				require.Equal(t, string(got), string(normalize(t, run(t, mode, got))), "second pass changed %s", expectedFile)
			})
		}
	}
}

// goldenConfig is the default configuration in the given mode.
func goldenConfig(mode Mode) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Mode = mode
	return cfg
}

func consumeTraces(t *testing.T, mode Mode, td ptrace.Traces) ptrace.Traces {
	t.Helper()
	sink := new(consumertest.TracesSink)
	cfg := goldenConfig(mode)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(NewFactory().Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllTraces(), 1)
	return sink.AllTraces()[0]
}

func consumeMetrics(t *testing.T, mode Mode, md pmetric.Metrics) pmetric.Metrics {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	cfg := goldenConfig(mode)
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(NewFactory().Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.ConsumeMetrics(context.Background(), md))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllMetrics(), 1)
	return sink.AllMetrics()[0]
}

func consumeLogs(t *testing.T, mode Mode, ld plog.Logs) plog.Logs {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(NewFactory().Type()), goldenConfig(mode), sink)
	require.NoError(t, err)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0]
}

// normalize re-encodes OTLP JSON with every attribute list sorted by key and indented, so that
// expected files read well and attribute order (which renaming changes) does not matter.
func normalize(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	sortAttributes(v)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return out.Bytes()
}

func sortAttributes(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if list, ok := child.([]any); ok && k == "attributes" {
				sort.SliceStable(list, func(i, j int) bool { return attrKey(list[i]) < attrKey(list[j]) })
			}
			sortAttributes(child)
		}
	case []any:
		for _, child := range x {
			sortAttributes(child)
		}
	}
}

func attrKey(v any) string {
	m, _ := v.(map[string]any)
	k, _ := m["key"].(string)
	return k
}
