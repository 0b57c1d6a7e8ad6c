package msgtracereceiver

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// Helpers of the RabbitMQ, NATS and Redis integration tests, which run
// against real servers on 127.0.0.1.

// requireServer skips when a local broker is not there, unless CI=true,
// where a missing broker fails the test.
func requireServer(t *testing.T, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not reachable on %s (CI=true): %v", name, addr, err)
		}
		t.Skipf("%s is not reachable on %s: %v", name, addr, err)
	}
	c.Close()
}

// uniqueName keeps reruns and parallel packages from sharing broker objects.
func uniqueName(prefix string) string { return prefix + "-" + strings.ToLower(rand.Text()[:10]) }

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

// tcpProxy forwards to a broker; cut closes every connection through it,
// as a network failure would, and new connections are accepted.
type tcpProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{l: l, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// probeUntilSeen publishes probes prefix-N until one has a receive span:
// brokers keep nothing for a tap that is not (yet, or again) subscribed.
func probeUntilSeen(t *testing.T, sink *consumertest.TracesSink, prefix string, publish func(id string)) {
	t.Helper()
	var n int
	require.Eventually(t, func() bool {
		n++
		publish(fmt.Sprintf("%s-%d", prefix, n))
		for id := range receiveSpans(sink) {
			if strings.HasPrefix(id, prefix+"-") {
				return true
			}
		}
		return false
	}, waitFor, 100*time.Millisecond, "the tap never saw a %s message", prefix)
}
