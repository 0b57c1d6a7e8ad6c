package e2e

// The ledger of the crash and outage tests: what was produced, what the
// OTLP sink accepted, and the checks that tie the two together.

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// faultDeadline bounds each wait of the crash and outage tests: a give-up
// bound for a gateway that lost messages or never reconnects, not a
// statement about speed.
const faultDeadline = 5 * time.Minute

// sentMessage is one produced message as the checks know it.
type sentMessage struct {
	key    string
	traced bool            // carries a sampled traceparent
	pc     producerContext // its producer's context, when traced
}

// newMessage returns message n of a fault test: every other one from an
// instrumented producer (the receive span joins the producer's trace), the
// others without headers (the gateway rebuilds a send span). Every message
// is sampled, so every offset has a receive span.
func newMessage(topic string, partitions int32, n, valueSize int) (*kgo.Record, sentMessage) {
	m := sentMessage{key: fmt.Sprintf("m%06d", n), traced: n%2 == 0}
	r := &kgo.Record{
		Topic:     topic,
		Partition: int32(n) % partitions,
		Key:       []byte(m.key),
		Value:     make([]byte, valueSize),
	}
	if m.traced {
		m.pc = newProducerContext(n, true)
		r.Headers = []kgo.RecordHeader{m.pc.header()}
	}
	return r, m
}

// producedSet records where each produced message landed.
type producedSet struct {
	mu   sync.Mutex
	msgs map[offsetKey]sentMessage
}

func newProducedSet() *producedSet { return &producedSet{msgs: map[offsetKey]sentMessage{}} }

// produce writes messages [from, to) in batches of batch records. Before
// each batch it waits until may() allows it or ctx ends.
func (p *producedSet) produce(ctx context.Context, kafka *harness.Kafka, topic string, partitions int32,
	from, to, batch, valueSize int, may func() bool,
) error {
	for n := from; n < to; n += batch {
		for may != nil && !may() {
			if !sleepCtx(ctx, 20*time.Millisecond) {
				return ctx.Err()
			}
		}
		recs := make([]*kgo.Record, 0, batch)
		msgs := make([]sentMessage, 0, batch)
		for i := n; i < min(n+batch, to); i++ {
			r, m := newMessage(topic, partitions, i, valueSize)
			recs, msgs = append(recs, r), append(msgs, m)
		}
		if err := kafka.Produce(ctx, recs...); err != nil {
			return err
		}
		p.mu.Lock()
		for i, r := range recs {
			p.msgs[recordKey(r)] = msgs[i]
		}
		p.mu.Unlock()
	}
	return nil
}

func (p *producedSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

func (p *producedSet) snapshot() map[offsetKey]sentMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[offsetKey]sentMessage, len(p.msgs))
	for k, m := range p.msgs {
		out[k] = m
	}
	return out
}

// spanRecord is what the ledger keeps of one span.
type spanRecord struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	parent  pcommon.SpanID
	key     string
}

// maxNotes bounds the ledger's lists of anomalies; their counts stay exact.
const maxNotes = 20

// spanLedger is everything the sink accepted, by message position.
type spanLedger struct {
	mu          sync.Mutex
	occurrences int                    // spans accepted, repeats included
	ids         map[pcommon.SpanID]int // times each span ID was accepted
	receive     map[offsetKey]spanRecord
	send        map[offsetKey]spanRecord
	conflicts   int // a message whose span came back with other IDs
	unplaced    int // spans that name no message position
	notes       []string
}

func newSpanLedger() *spanLedger {
	return &spanLedger{
		ids:     map[pcommon.SpanID]int{},
		receive: map[offsetKey]spanRecord{},
		send:    map[offsetKey]spanRecord{},
	}
}

// record is the sink's callback.
func (l *spanLedger) record(td ptrace.Traces) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range harness.Spans(td) {
		s := r.Span
		l.occurrences++
		l.ids[s.SpanID()]++
		a := s.Attributes()
		k, ok := attrKey(a, a)
		var index map[offsetKey]spanRecord
		switch s.Kind() {
		case ptrace.SpanKindClient:
			index = l.receive
		case ptrace.SpanKindProducer:
			index = l.send
		}
		if !ok || index == nil {
			l.unplaced++
			l.note("span %q (kind %v) names no message: %v", s.Name(), s.Kind(), a.AsRaw())
			continue
		}
		rec := spanRecord{traceID: s.TraceID(), spanID: s.SpanID(), parent: s.ParentSpanID()}
		if key, ok := a.Get("messaging.kafka.message.key"); ok {
			rec.key = key.Str()
		}
		if prev, seen := index[k]; seen && prev != rec {
			l.conflicts++
			l.note("message %+v came back with other IDs: first %+v, now %+v", k, prev, rec)
			continue
		}
		index[k] = rec
	}
}

func (l *spanLedger) note(format string, args ...any) {
	if len(l.notes) < maxNotes {
		l.notes = append(l.notes, fmt.Sprintf(format, args...))
	}
}

// received returns how many messages have their receive span.
func (l *spanLedger) received() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.receive)
}

// duplicates returns how many accepted spans repeated an ID already accepted.
func (l *spanLedger) duplicates() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.occurrences - len(l.ids)
}

// exportedPrefix returns the first offset of the partition whose message has
// no receive span: every message before it was exported.
func (l *spanLedger) exportedPrefix(topic string, partition int32) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := offsetKey{topic: topic, partition: strconv.Itoa(int(partition))}
	for {
		if _, ok := l.receive[k]; !ok {
			return k.offset
		}
		k.offset++
	}
}

// committedBeyondExported queries the group's committed offsets and returns a
// description of each partition whose commit covers a message the sink has
// not accepted. The ledger is read after the query: it only grows, so a
// commit that was legitimate when made is never reported.
func committedBeyondExported(ctx context.Context, kafka *harness.Kafka, group string, l *spanLedger) (harness.Offsets, []string, error) {
	committed, err := kafka.CommittedOffsets(ctx, group)
	if err != nil {
		return nil, nil, err
	}
	var bad []string
	for topic, parts := range committed {
		for p, c := range parts {
			if exported := l.exportedPrefix(topic, p); c > exported {
				bad = append(bad, fmt.Sprintf("%s/%d committed at %d, but the message at offset %d has no exported span", topic, p, c, exported))
			}
		}
	}
	return committed, bad, nil
}

// verify checks every produced message against the ledger and returns how
// many have lost their spans; wrong or unexpected spans fail the test.
func (l *spanLedger) verify(t *testing.T, produced map[offsetKey]sentMessage) (lost int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var missing, wrong []string
	report := func(list *[]string, format string, args ...any) {
		if len(*list) < maxNotes {
			*list = append(*list, fmt.Sprintf(format, args...))
		}
	}
	for k, m := range produced {
		rcv, ok := l.receive[k]
		if !ok {
			lost++
			report(&missing, "%s at %+v: no receive span", m.key, k)
			continue
		}
		if rcv.key != m.key {
			report(&wrong, "%+v: receive span for key %q, produced %q", k, rcv.key, m.key)
		}
		if m.traced {
			if rcv.traceID != m.pc.traceID || rcv.parent != m.pc.spanID {
				report(&wrong, "%s: receive span not in its producer's trace: %+v", m.key, rcv)
			}
			continue
		}
		snd, ok := l.send[k]
		if !ok {
			lost++
			report(&missing, "%s at %+v: no rebuilt send span", m.key, k)
			continue
		}
		if snd.spanID != rcv.parent || snd.traceID != rcv.traceID || snd.key != m.key {
			report(&wrong, "%s: receive span %+v not under its rebuilt send span %+v", m.key, rcv, snd)
		}
	}
	for k := range l.receive {
		if _, ok := produced[k]; !ok {
			report(&wrong, "receive span for %+v, which was never produced", k)
		}
	}
	require.Empty(t, wrong, "spans that do not match their messages")
	require.Zero(t, l.conflicts, "re-emitted spans must carry identical IDs: %v", l.notes)
	require.Zero(t, l.unplaced, "spans that name no message: %v", l.notes)
	if lost > 0 {
		t.Errorf("%d of %d messages lost their spans, e.g. %v", lost, len(produced), missing)
	}
	return lost
}

// waitUntil polls cond every 50ms until it holds; it fails the test with
// what() when faultDeadline passes first, or at once when the gateway exits.
func waitUntil(t *testing.T, gw *harness.Gateway, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(faultDeadline)
	for !cond() {
		select {
		case <-gw.Done():
			t.Fatalf("the gateway exited (%v): %s", gw.ExitErr(), what())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s: %s", faultDeadline, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sleepCtx waits d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
