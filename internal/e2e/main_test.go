// Package e2e tests the built otelcol-msg binary from the outside: a
// collector config from testdata/, Kafka (kfake) on 127.0.0.1, and the file
// exporter's output. The binary is $OTELCOL_MSG_BINARY (`make test` sets it),
// or one compiled from cmd/otelcol-msg for this run.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
)

// spanDeadline bounds every wait for spans: a give-up bound for a broken
// gateway, not a statement about its speed.
const spanDeadline = 60 * time.Second

// binary is built at most once per test run, into buildDir, when
// $OTELCOL_MSG_BINARY is unset.
var binary struct {
	once     sync.Once
	path     string
	err      error
	buildDir string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.buildDir != "" {
		os.RemoveAll(binary.buildDir)
	}
	os.Exit(code)
}

// otelcolBinary returns the otelcol-msg under test; it never skips.
func otelcolBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.buildDir, binary.err = os.MkdirTemp("", "otelcol-msg-e2e-bin-"); binary.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		binary.path, binary.err = harness.Binary(ctx, binary.buildDir)
	})
	require.NoError(t, binary.err)
	return binary.path
}

// testdataConfig returns the path of a collector config in the repository's testdata/.
func testdataConfig(t *testing.T, name string) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, err := harness.ModuleRoot(wd)
	require.NoError(t, err)
	return filepath.Join(root, "testdata", name)
}

// startKafka starts an in-process kfake cluster with the topics, closed with the test.
func startKafka(t *testing.T, topics ...harness.Topic) *harness.Kafka {
	t.Helper()
	k, err := harness.StartKafka(topics...)
	require.NoError(t, err)
	t.Cleanup(k.Close)
	return k
}

// startGateway runs otelcol-msg with testdata/<config> against kafka and
// stops it with the test; a gateway that does not stop cleanly fails the test.
func startGateway(t *testing.T, config string, kafka *harness.Kafka, args ...string) *harness.Gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	gw, err := harness.StartGateway(ctx, harness.GatewayConfig{
		Binary:     otelcolBinary(t),
		ConfigPath: testdataConfig(t, config),
		Brokers:    kafka.Brokers(),
		Dir:        t.TempDir(),
		Args:       args,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := gw.Stop(30 * time.Second); err != nil {
			t.Errorf("stop gateway: %v", err)
		}
	})
	return gw
}

// waitForSpans reads the gateway's exported spans until done is true, and
// fails the test (with the gateway's log) when spanDeadline passes first.
func waitForSpans(t *testing.T, gw *harness.Gateway, done func(ptrace.Traces) bool) ptrace.Traces {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	tf := harness.NewTraceFile(gw.OutputPath)
	if err := tf.Wait(ctx, done); err != nil {
		t.Fatalf("%v\ngateway log %s ends with:\n%s", err, gw.LogPath(), gw.LogTail(30))
	}
	return tf.Traces()
}

// produce writes the records and fails the test on error.
func produce(t *testing.T, kafka *harness.Kafka, records ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	require.NoError(t, kafka.Produce(ctx, records...))
}

// producerContext is the context an instrumented producer puts in traceparent.
type producerContext struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	sampled bool
}

// newProducerContext returns a distinct context for message i of a test.
func newProducerContext(i int, sampled bool) producerContext {
	var c producerContext
	copy(c.traceID[:], fmt.Sprintf("e2e-trace-%06d", i))
	copy(c.spanID[:], fmt.Sprintf("sp%06d", i))
	c.sampled = sampled
	return c
}

func (c producerContext) header() kgo.RecordHeader {
	flags := uint8(0)
	if c.sampled {
		flags = 1
	}
	return harness.Header("traceparent", traceparent.Format(traceparent.Context{TraceID: c.traceID, SpanID: c.spanID, Flags: flags}))
}

// offsetKey names a message by where it sits in Kafka.
type offsetKey struct {
	topic     string
	partition string
	offset    int64
}

func recordKey(r *kgo.Record) offsetKey {
	return offsetKey{topic: r.Topic, partition: fmt.Sprint(r.Partition), offset: r.Offset}
}

// attrKey reads the message position from a span's or a link's attributes;
// partition comes from the span (a batch span names it once for its links).
func attrKey(spanAttrs, msgAttrs pcommon.Map) (offsetKey, bool) {
	dest, ok1 := spanAttrs.Get("messaging.destination.name")
	part, ok2 := spanAttrs.Get("messaging.destination.partition.id")
	off, ok3 := msgAttrs.Get("messaging.kafka.offset")
	if !ok1 || !ok2 || !ok3 {
		return offsetKey{}, false
	}
	return offsetKey{topic: dest.Str(), partition: part.Str(), offset: off.Int()}, true
}

// spansOf returns the spans of td that have the given kind.
func spansOf(td ptrace.Traces, kind ptrace.SpanKind) []ptrace.Span {
	var out []ptrace.Span
	for _, r := range harness.Spans(td) {
		if r.Span.Kind() == kind {
			out = append(out, r.Span)
		}
	}
	return out
}

// attrs flattens a map for readable comparisons in assertions.
func attrs(m pcommon.Map) map[string]any { return m.AsRaw() }
