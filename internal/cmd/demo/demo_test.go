package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// TestDemo runs `make demo`'s program against the built binary (or one
// compiled for the test) and checks the traces it printed: the handler chain
// in one trace with the gateway's receive spans parented on the producer's
// context, rebuilt roots for the uninstrumented producer, one batch receive
// span linking every order, and the application's spans migrated to semconv 1.44.
func TestDemo(t *testing.T) {
	output, td := runDemo(t, brokersNone)
	assert.NotContains(t, output, "▸ the gateway taps", "make demo taps Kafka only")
	assert.Contains(t, output, "━━ trace tree")
	assert.Contains(t, output, "\nsummary: ")
	spans := harness.Spans(td)
	byID := map[pcommon.SpanID]harness.SpanRecord{}
	for _, r := range spans {
		byID[r.Span.SpanID()] = r
	}
	traces := map[pcommon.TraceID]bool{}
	for _, r := range spans {
		traces[r.Span.TraceID()] = true
	}
	headers := 0
	for _, line := range strings.Split(output, "\n") {
		if strings.HasPrefix(line, "trace ") {
			headers++
		}
	}
	assert.Equal(t, len(traces), headers, "one block per exported trace in the tree")
	assert.NotContains(t, output, "in trace 0 ", "a link resolved to a trace missing from the tree")

	dest := func(r harness.SpanRecord) any { return r.Span.Attributes().AsRaw()["messaging.destination.name"] }

	t.Run("chain", func(t *testing.T) {
		// The chain's root is the app's create span on "first": every handler
		// publishes with the incoming context, so the whole chain is one trace.
		var chain pcommon.TraceID
		for _, r := range spans {
			if isApp(r) && r.Span.ParentSpanID().IsEmpty() && r.Span.Kind() == ptrace.SpanKindProducer && dest(r) == topicFirst {
				chain = r.Span.TraceID()
			}
		}
		require.False(t, chain.IsEmpty(), "no application root span on %q", topicFirst)
		names := map[string]bool{}
		receives, settles := 0, 0
		receiveStart, settleStart := map[any]pcommon.Timestamp{}, map[any]pcommon.Timestamp{}
		for _, r := range spans {
			if r.Span.TraceID() != chain {
				continue
			}
			names[r.Span.Name()] = true
			if isApp(r) {
				a := r.Span.Attributes().AsRaw()
				assert.NotContains(t, a, "messaging.operation", "%q keeps a 1.11 attribute", r.Span.Name())
				assert.Contains(t, a, "messaging.operation.type", "%q was not migrated", r.Span.Name())
				continue
			}
			require.Equal(t, ptrace.SpanKindClient, r.Span.Kind(), "gateway span %q", r.Span.Name())
			parent, ok := byID[r.Span.ParentSpanID()]
			require.True(t, ok, "%q has no exported parent", r.Span.Name())
			assert.True(t, isApp(parent), "%q is parented on the producer's context", r.Span.Name())
			a := r.Span.Attributes().AsRaw()
			if a["messaging.operation.type"] == "settle" {
				// The application group's commit, seen by the gateway.
				assert.Equal(t, appGroup, a["messaging.consumer.group.name"], "settle span %q", r.Span.Name())
				assert.Greater(t, r.Span.EndTimestamp(), r.Span.StartTimestamp())
				settleStart[dest(r)] = r.Span.StartTimestamp()
				settles++
				continue
			}
			receiveStart[dest(r)] = r.Span.StartTimestamp()
			receives++
		}
		assert.Equal(t, 3, receives, "one receive span per hop of the chain")
		assert.Equal(t, 3, settles, "one settle span per hop of the chain, by the application's group")
		// Both start at the message's own timestamp: the wait is measured from creation.
		assert.Equal(t, receiveStart, settleStart, "settle and receive spans of a message start together")
		for _, n := range []string{"receive first", "receive second", "receive third", "send first", "process first", "send second", "process third"} {
			assert.True(t, names[n], "no span %q in the chain's trace (have %v)", n, names)
		}
	})

	t.Run("uninstrumented producer", func(t *testing.T) {
		roots := 0
		for _, r := range spans {
			if isApp(r) || r.Span.Kind() != ptrace.SpanKindProducer {
				continue
			}
			assert.Equal(t, "send "+topicLegacy, r.Span.Name())
			assert.True(t, r.Span.ParentSpanID().IsEmpty())
			roots++
			children := 0
			for _, c := range spans {
				if c.Span.ParentSpanID() == r.Span.SpanID() {
					assert.Equal(t, "receive "+topicLegacy, c.Span.Name())
					children++
				}
			}
			assert.Equal(t, 1, children, "rebuilt send span has its receive span")
		}
		assert.Equal(t, legacyMessages, roots)
	})

	t.Run("batch", func(t *testing.T) {
		var batch []ptrace.Span
		for _, r := range spans {
			if !isApp(r) && r.Span.Kind() == ptrace.SpanKindClient && dest(r) == topicOrders {
				batch = append(batch, r.Span)
			}
		}
		// Usually one span: both publishes reach Kafka in one produce request.
		// The tap may still fetch them in two, which is as correct.
		require.NotEmpty(t, batch)
		links := 0
		tenants := map[string]int{}
		for _, s := range batch {
			for _, l := range s.Links().All() {
				links++
				target, ok := byID[l.SpanID()]
				require.True(t, ok, "link to a span that was not exported")
				assert.True(t, isApp(target), "link points at the publishing app's create span")
				if v, ok := l.Attributes().Get("baggage.tenant"); ok {
					tenants[v.Str()]++
				}
			}
		}
		assert.Equal(t, 5, links, "one link per order")
		assert.Equal(t, map[string]int{"acme": 3, "globex": 2}, tenants, "each message keeps its own baggage on its link")
	})
}

// binaryDir holds the otelcol-msg that harness.Binary compiles when
// OTELCOL_MSG_BINARY is unset; the package's tests share it.
var binaryDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "otelcol-msg-demo-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo tests:", err)
		os.Exit(1)
	}
	binaryDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var testBinary = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return harness.Binary(ctx, binaryDir)
})

// demoSetup returns the otelcol-msg to run and the demo's config,
// testdata/demo.yaml.
func demoSetup(t *testing.T) (binary, config string) {
	t.Helper()
	bin, err := testBinary()
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, err := harness.ModuleRoot(wd)
	require.NoError(t, err)
	return bin, filepath.Join(root, "testdata", "demo.yaml")
}

// runDemo runs the demo's program with --brokers brokers and returns what
// it printed and the traces the gateway exported.
func runDemo(t *testing.T, brokers string) (string, ptrace.Traces) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, config := demoSetup(t)
	dir := t.TempDir()
	var out strings.Builder
	err := run(ctx, &out, options{binary: bin, config: config, dir: dir, timeout: 90 * time.Second, brokers: brokers})
	require.NoError(t, err, "demo output:\n%s", out.String())
	td, err := harness.ReadTraces(filepath.Join(dir, "traces.json"))
	require.NoError(t, err)
	return out.String(), td
}
