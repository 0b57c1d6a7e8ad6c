package msgtracereceiver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// Helpers of the RabbitMQ, NATS and Redis integration tests, which run
// against real servers on 127.0.0.1.

// brokerCase is one message of the scenario every broker test publishes.
type brokerCase struct {
	id          string
	traceparent string
	baggage     string
	correlation string
}

const brokerBatch = 20

// brokerScenario: a message with context, one without, one with baggage,
// and a batch sharing a correlation id, some with context and some without.
func brokerScenario() []brokerCase {
	out := []brokerCase{
		{id: "with-context", traceparent: traceparent.Format(producerContext(0, true)), correlation: "conv-1"},
		{id: "without-context"},
		{id: "with-baggage", traceparent: traceparent.Format(producerContext(1, true)), baggage: "tenant=acme,with_batch=True"},
	}
	for i := range brokerBatch {
		c := brokerCase{id: fmt.Sprintf("batch-%02d", i), correlation: "batch"}
		if i%2 == 0 {
			c.traceparent = traceparent.Format(producerContext(2+i, true))
		}
		out = append(out, c)
	}
	return out
}

// receiveSpans returns the receive spans by messaging.message.id.
func receiveSpans(sink *consumertest.TracesSink) map[string][]ptrace.Span {
	out := map[string][]ptrace.Span{}
	for _, s := range allSpans(sink) {
		if s.Kind() == ptrace.SpanKindClient {
			id := attr(s, "messaging.message.id")
			out[id] = append(out[id], s)
		}
	}
	return out
}

// waitReceived waits until every id has a receive span.
func waitReceived(t *testing.T, sink *consumertest.TracesSink, ids ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		got := receiveSpans(sink)
		for _, id := range ids {
			if len(got[id]) == 0 {
				return false
			}
		}
		return true
	}, waitFor, tick, "no receive span for some of %d messages", len(ids))
}

// checkBrokerSpans checks the spans of brokerScenario: the receive span of
// a message with context sits in the producer's trace, one without context
// is the child of a rebuilt send span whose IDs derive from identity(id).
func checkBrokerSpans(t *testing.T, sink *consumertest.TracesSink, system, destination string, identity func(id string) string) {
	t.Helper()
	spans := allSpans(sink)
	sends := map[string]ptrace.Span{}
	for _, s := range spans {
		if s.Kind() == ptrace.SpanKindProducer {
			sends[s.SpanID().String()] = s
		}
	}
	got := receiveSpans(sink)
	for i, c := range brokerScenario() {
		require.Len(t, got[c.id], 1, "one receive span for %s", c.id)
		s := got[c.id][0]
		assert.Equal(t, "receive "+destination, s.Name())
		assert.Equal(t, system, attr(s, "messaging.system"))
		assert.Equal(t, "receive", attr(s, "messaging.operation.type"))
		assert.Equal(t, destination, attr(s, "messaging.destination.name"))
		assert.Equal(t, "127.0.0.1", attr(s, "server.address"))
		assert.LessOrEqual(t, s.StartTimestamp(), s.EndTimestamp())
		assert.Equal(t, c.correlation, attr(s, "messaging.message.conversation_id"))
		if c.traceparent != "" {
			want, err := traceparent.Parse(c.traceparent)
			require.NoError(t, err)
			assert.Equal(t, want.TraceID, s.TraceID(), "%s: receive span in the producer's trace", c.id)
			assert.Equal(t, want.SpanID, s.ParentSpanID())
		} else {
			send, ok := sends[s.ParentSpanID().String()]
			require.True(t, ok, "%s (case %d): the receive span's parent is a rebuilt send span", c.id, i)
			assert.Equal(t, "send "+destination, send.Name())
			assert.Equal(t, spanmodel.SendSpanID(identity(c.id)), send.SpanID(), "rebuilt IDs derive from the identity")
			assert.Equal(t, spanmodel.SendTraceID(identity(c.id)), send.TraceID())
		}
		if c.baggage != "" {
			assert.Equal(t, "acme", attr(s, "baggage.tenant"))
			assert.Equal(t, "True", attr(s, "baggage.with_batch"))
		}
	}
}

// probeUntilSeen publishes probes until one has a receive span.
func probeUntilSeen(t *testing.T, sink *consumertest.TracesSink, prefix string, publish func(id string)) {
	t.Helper()
	sourcetest.Probe(t, prefix, publish, func() bool {
		for id := range receiveSpans(sink) {
			if strings.HasPrefix(id, prefix+"-") {
				return true
			}
		}
		return false
	})
}
