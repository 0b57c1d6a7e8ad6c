package e2e

// Shared by the scale tests of the taps other than Kafka (RabbitMQ, NATS,
// Redis): the local servers .ci/run starts, and a tally of what each
// replica's sink accepted, by message ID.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// The local servers on 127.0.0.1 (.ci/run starts them).
const (
	localRabbitMQ = "127.0.0.1:5672"
	localNATS     = "127.0.0.1:4222"
	localRedis    = "127.0.0.1:6379"
)

// requireLocal ends the test unless something listens on addr: it fails
// with CI=true, where every local server must be there, and skips otherwise.
func requireLocal(t *testing.T, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		return
	}
	unavailable(t, "%s is not reachable on %s: %v", name, addr, err)
}

func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI=true)", args...)
	}
	t.Skipf(format, args...)
}

// requireCommand returns the path of a CLI the test needs (see requireLocal).
func requireCommand(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, "%s not found: %v", name, err)
	}
	return path
}

// tracedMessage is what one receive span says of its message.
type tracedMessage struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	parent  pcommon.SpanID
}

// messageTally records, by messaging.message.id, the receive spans each
// replica's sink accepted, and the rebuilt send spans.
type messageTally struct {
	mu        sync.Mutex
	receives  map[string][]tracedMessage
	replicas  map[string][]int
	sends     map[string]tracedMessage
	conflicts []string
}

func newMessageTally() *messageTally {
	return &messageTally{
		receives: map[string][]tracedMessage{},
		replicas: map[string][]int{},
		sends:    map[string]tracedMessage{},
	}
}

// recorder is the record callback of replica n's sink.
func (m *messageTally) recorder(n int) func(ptrace.Traces) {
	return func(td ptrace.Traces) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, r := range harness.Spans(td) {
			s := r.Span
			id, ok := s.Attributes().Get("messaging.message.id")
			if !ok {
				continue
			}
			tm := tracedMessage{traceID: s.TraceID(), spanID: s.SpanID(), parent: s.ParentSpanID()}
			switch s.Kind() {
			case ptrace.SpanKindClient:
				if prev := m.receives[id.Str()]; len(prev) > 0 && prev[0] != tm && len(m.conflicts) < maxNotes {
					m.conflicts = append(m.conflicts, fmt.Sprintf("%s: first %+v, then %+v", id.Str(), prev[0], tm))
				}
				m.receives[id.Str()] = append(m.receives[id.Str()], tm)
				m.replicas[id.Str()] = append(m.replicas[id.Str()], n)
			case ptrace.SpanKindProducer:
				m.sends[id.Str()] = tm
			}
		}
	}
}

// received counts the messages with a receive span.
func (m *messageTally) received() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.receives)
}

// tracedBy counts the receive spans replica n exported.
func (m *messageTally) tracedBy(n int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := 0
	for _, ns := range m.replicas {
		for _, x := range ns {
			if x == n {
				c++
			}
		}
	}
	return c
}

// verify checks every produced message (message ID -> its producer's
// context, or nil when the producer was not instrumented) and returns how
// many lost their spans and how many were traced more than once. Spans of
// one message with different IDs, or not in their trace, fail the test.
func (m *messageTally) verify(t *testing.T, produced map[string]*producerContext) (lost, twice int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var missing, wrong []string
	note := func(list *[]string, format string, args ...any) {
		if len(*list) < maxNotes {
			*list = append(*list, fmt.Sprintf(format, args...))
		}
	}
	for id, pc := range produced {
		rs := m.receives[id]
		if len(rs) == 0 {
			lost++
			note(&missing, "%s", id)
			continue
		}
		if len(rs) > 1 {
			twice++
		}
		r := rs[0]
		if pc != nil {
			if r.traceID != pc.traceID || r.parent != pc.spanID {
				note(&wrong, "%s: receive span %+v not under its producer %+v", id, r, *pc)
			}
			continue
		}
		if snd, ok := m.sends[id]; !ok || snd.spanID != r.parent || snd.traceID != r.traceID {
			note(&wrong, "%s: receive span %+v not under its rebuilt send span %+v", id, r, snd)
		}
	}
	for id := range m.receives {
		if _, ok := produced[id]; !ok {
			note(&wrong, "receive span for %s, which was never produced", id)
		}
	}
	require.Empty(t, m.conflicts, "a message traced twice must keep its IDs")
	require.Empty(t, wrong, "spans that do not match their messages")
	if lost > 0 {
		t.Errorf("%d of %d messages lost their spans, e.g. %v", lost, len(produced), missing)
	}
	return lost, twice
}

// sameReplicaTwice counts the messages one replica traced more than once: a
// redelivery goes to another consumer, so that is not a handover.
func (m *messageTally) sameReplicaTwice() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := 0
	for _, ns := range m.replicas {
		seen := map[int]bool{}
		for _, n := range ns {
			if seen[n] {
				c++
				break
			}
			seen[n] = true
		}
	}
	return c
}

// waitFor polls cond until it holds, failing with what() after scaleDeadline
// or at once when one of the gateways exits.
func waitFor(t *testing.T, gws map[int]*harness.Gateway, what func() string, cond func() bool) {
	t.Helper()
	waitUntilAll(t, gws, what, cond)
}
