package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type spanSpec struct {
	name          string
	kind          ptrace.SpanKind
	trace         byte
	id, parent    byte
	start, length time.Duration
	attrs         map[string]any
	links         [][2]byte // trace, span
}

func tid(b byte) pcommon.TraceID {
	if b == 0 {
		return pcommon.TraceID{}
	}
	return pcommon.TraceID{15: b}
}

func sid(b byte) pcommon.SpanID {
	if b == 0 {
		return pcommon.SpanID{}
	}
	return pcommon.SpanID{7: b}
}

// exported builds what the gateway would export: the app's spans under
// FastStream's scope, the gateway's under another.
func exported(app, gateway []spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	add := func(scope string, specs []spanSpec) {
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		ss.Scope().SetName(scope)
		for _, sp := range specs {
			s := ss.Spans().AppendEmpty()
			s.SetName(sp.name)
			s.SetKind(sp.kind)
			s.SetTraceID(tid(sp.trace))
			s.SetSpanID(sid(sp.id))
			s.SetParentSpanID(sid(sp.parent))
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(sp.start)))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(sp.start + sp.length)))
			_ = s.Attributes().FromRaw(sp.attrs)
			for _, l := range sp.links {
				pl := s.Links().AppendEmpty()
				pl.SetTraceID(tid(l[0]))
				pl.SetSpanID(sid(l[1]))
				pl.Attributes().PutStr("baggage.tenant", "acme")
			}
		}
	}
	add(faststreamScope, app)
	add("github.com/otelcol-msg/otelcol-msg/msgtracereceiver", gateway)
	return td
}

func sampleTraces() ptrace.Traces {
	kafka := func(kv ...any) map[string]any {
		m := map[string]any{"messaging.system": "kafka"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	return exported(
		[]spanSpec{
			{name: "create first", kind: ptrace.SpanKindProducer, trace: 1, id: 1, attrs: kafka("messaging.destination.name", "first")},
			{name: "process first", kind: ptrace.SpanKindConsumer, trace: 1, id: 3, parent: 1, start: 5 * time.Millisecond, length: 21500 * time.Microsecond},
			{name: "send first", kind: ptrace.SpanKindProducer, trace: 1, id: 2, parent: 1, start: time.Millisecond, length: 800 * time.Microsecond},
			{name: "process lost", kind: ptrace.SpanKindConsumer, trace: 4, id: 9, parent: 8, start: 9 * time.Second, length: 1500 * time.Millisecond},
			// Starts after the batch that links to it: the batch is printed after it.
			{name: "create orders", kind: ptrace.SpanKindProducer, trace: 6, id: 10, start: 3 * time.Second},
		},
		[]spanSpec{
			// Same start as trace 2's root, exported first: printed first.
			{name: "send legacy", kind: ptrace.SpanKindProducer, trace: 7, id: 11, start: -time.Second},
			{name: "receive first", kind: ptrace.SpanKindClient, trace: 1, id: 4, parent: 1, start: time.Millisecond, length: 3 * time.Millisecond,
				attrs: kafka("messaging.destination.name", "first", "messaging.destination.partition.id", "0",
					"messaging.kafka.offset", 7, "baggage.user_id", "42", "baggage.tenant", "acme", "server.port", 9092)},
			{name: "send legacy", kind: ptrace.SpanKindProducer, trace: 2, id: 5, start: -time.Second},
			{name: "receive legacy", kind: ptrace.SpanKindClient, trace: 2, id: 6, parent: 5, start: -time.Second, length: 2 * time.Millisecond},
			{name: "receive orders", kind: ptrace.SpanKindClient, trace: 3, id: 7, start: 2 * time.Second, length: 4 * time.Millisecond,
				attrs: kafka("messaging.batch.message_count", 2), links: [][2]byte{{1, 1}, {6, 10}, {5, 5}, {8, 12}}},
			// Exported after the batch span that links to it.
			{name: "send late", kind: ptrace.SpanKindProducer, trace: 8, id: 12, start: 5 * time.Second},
		},
	)
}

func TestPrintTree(t *testing.T) {
	var b strings.Builder
	printTree(&b, sampleTraces())
	want := `
trace 1/7  00000000000000000000000000000007  (1 span)
└─ send legacy  PRODUCER  0s  [gateway, rebuilt]

trace 2/7  00000000000000000000000000000002  (2 spans)
└─ send legacy  PRODUCER  0s  [gateway, rebuilt]
   └─ receive legacy  CLIENT  2ms  [gateway]

trace 3/7  00000000000000000000000000000001  (4 spans)
└─ create first  PRODUCER  0s  [app]
      messaging.system=kafka messaging.destination.name=first
   ├─ send first  PRODUCER  800µs  [app]
   ├─ receive first  CLIENT  3ms  [gateway]
   │     messaging.system=kafka messaging.destination.name=first messaging.destination.partition.id=0 messaging.kafka.offset=7
   │     baggage.tenant=acme baggage.user_id=42
   └─ process first  CONSUMER  21.5ms  [app]

trace 4/7  00000000000000000000000000000006  (1 span)
└─ create orders  PRODUCER  0s  [app]

trace 5/7  00000000000000000000000000000008  (1 span)
└─ send late  PRODUCER  0s  [gateway, rebuilt]

trace 6/7  00000000000000000000000000000003  (1 span)
└─ receive orders  CLIENT  4ms  [gateway]
      messaging.system=kafka messaging.batch.message_count=2
      ↪ link to "create first" in trace 3  baggage.tenant=acme
      ↪ link to "create orders" in trace 4  baggage.tenant=acme
      ↪ link to span 0000000000000005 of trace 00000000000000000000000000000005 (not exported)  baggage.tenant=acme
      ↪ link to "send late" in trace 5  baggage.tenant=acme

trace 7/7  00000000000000000000000000000004  (1 span)
└─ process lost  CONSUMER  1.5s  [app]  (parent 0000000000000008 not exported)
`
	assert.Equal(t, want, b.String())
}

func TestExpectation(t *testing.T) {
	td := sampleTraces()
	got := count(td)
	assert.Equal(t, 5, got.appSpans)
	assert.Equal(t, map[string]int{"first": 1, "": 1}, got.perMessage)
	assert.Equal(t, map[string]int{"": 4}, got.perBatch)
	assert.Equal(t, map[string]int{"": 3}, got.rebuilt)

	met := expectation{appSpans: 5, perMessage: map[string]int{"first": 1}}
	assert.Empty(t, met.missing(td))

	unmet := expectation{
		appSpans:   6,
		perMessage: map[string]int{"first": 1, "second": 1},
		perBatch:   map[string]int{"orders": 5},
		rebuilt:    map[string]int{"legacy": 1},
	}
	assert.Equal(t, []string{
		`application spans: 5 of 6`,
		`messages linked from batch receive spans on "orders": 0 of 5`,
		`rebuilt send spans on "legacy": 0 of 1`,
		`receive spans on "second": 0 of 1`,
	}, unmet.missing(td))
}

func TestSummary(t *testing.T) {
	assert.Equal(t,
		"7 traces, 11 spans: 5 from the app over OTLP, 6 from the gateway (3 rebuilt send, 2 receive per message, 1 batch receive linking 4 messages)",
		summary(sampleTraces()))
}
