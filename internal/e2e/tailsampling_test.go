package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// TestTailSamplingRecipe runs testdata/tail-sampling.yaml: the applications'
// spans (OTLP) and the gateway's receive spans of the same messages meet in
// one trace at the gateway; the trace with an error and the one whose message
// waited in Kafka longer than the threshold are kept whole, the ordinary ones
// are dropped (the ratio of the rest is set to 0 % so the outcome is exact).
func TestTailSamplingRecipe(t *testing.T) {
	orders := harness.Topic{Name: "orders", Partitions: 2}
	kafka := startKafka(t, orders)
	gw := startGatewayEnv(t, "tail-sampling.yaml", kafka, []string{
		"OTELCOL_MSG_DECISION_WAIT=2s",
		"OTELCOL_MSG_SLOW_HOP_NS=3000000000", // 3 s
		"OTELCOL_MSG_KEEP_PERCENT=0",
	}, "--set=receivers::msgtrace::kafka::initial_offset=earliest") // the test produces before the tap joins

	conn, err := grpc.NewClient(gw.OTLPGRPCEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	// Each message: the producer's context in traceparent and the app's own
	// process span in the same trace, sent over OTLP.
	send := func(i int, age time.Duration, failed bool) producerContext {
		pc := newProducerContext(i, true)
		r := tracedRecord(orders.Name, int32(i%2), i, pc)
		r.Timestamp = time.Now().Add(-age) // CreateTime: when the producer sent it
		produce(t, kafka, r)
		ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
		defer cancel()
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(appSpan(pc, i, failed)))
		require.NoError(t, err)
		return pc
	}
	// Ordinary traces first: decided no later than the two below.
	var ordinary []producerContext
	for i := range 10 {
		ordinary = append(ordinary, send(100+i, 0, false))
	}
	withError := send(1, 0, true)
	slowHop := send(2, 10*time.Second, false)

	kept := map[pcommon.TraceID]bool{withError.traceID: true, slowHop.traceID: true}
	td := waitForSpans(t, gw, func(td ptrace.Traces) bool {
		// Both kept traces whole: the app's process span and the gateway's receive span.
		n := 0
		for _, r := range harness.Spans(td) {
			if kept[r.Span.TraceID()] {
				n++
			}
		}
		return n >= 4
	})

	byTrace := map[pcommon.TraceID][]string{}
	for _, r := range harness.Spans(td) {
		byTrace[r.Span.TraceID()] = append(byTrace[r.Span.TraceID()], r.Span.Name())
	}
	assert.ElementsMatch(t, []string{"process orders", "receive orders"}, byTrace[withError.traceID], "trace with the error")
	assert.ElementsMatch(t, []string{"process orders", "receive orders"}, byTrace[slowHop.traceID], "trace with the slow hop")
	for _, pc := range ordinary {
		assert.Empty(t, byTrace[pc.traceID], "ordinary trace %s was kept", pc.traceID)
	}
	assert.Len(t, byTrace, 2, "only the two traces the policies keep")
}

// appSpan is the consumer application's own span of message i, child of the
// producer's context, as an instrumented FastStream handler sends it.
func appSpan(pc producerContext, i int, failed bool) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "billing")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("process orders")
	s.SetKind(ptrace.SpanKindConsumer)
	s.SetTraceID(pc.traceID)
	s.SetParentSpanID(pc.spanID)
	var id pcommon.SpanID
	copy(id[:], fmt.Sprintf("app%05d", i))
	s.SetSpanID(id)
	now := time.Now()
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-5 * time.Millisecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	s.Attributes().PutStr("messaging.system", "kafka")
	s.Attributes().PutStr("messaging.operation.name", "process")
	s.Attributes().PutStr("messaging.operation.type", "process")
	s.Attributes().PutStr("messaging.destination.name", "orders")
	if failed {
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage("payment declined")
	}
	return td
}
