package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// keyAttributes are printed under each span, in this order, when present;
// baggage.* attributes follow, sorted.
var keyAttributes = []string{
	"messaging.system",
	"messaging.destination.name",
	"messaging.destination.partition.id",
	"messaging.kafka.offset",
	"messaging.batch.message_count",
	"messaging.consumer.group.name",
}

type node struct {
	harness.SpanRecord
	trace    int // 1-based number of its trace in the printout
	children []*node
}

// printTree writes one block per trace, oldest first: the trace id, then its
// spans as an indented tree (children by start time) with kind, duration,
// origin and key attributes, and each link with what it points at.
func printTree(w io.Writer, td ptrace.Traces) {
	records := harness.Spans(td)
	byTrace := map[pcommon.TraceID][]*node{}
	byID := map[pcommon.SpanID]*node{}
	for _, r := range records {
		n := &node{SpanRecord: r}
		byTrace[r.Span.TraceID()] = append(byTrace[r.Span.TraceID()], n)
		byID[r.Span.SpanID()] = n
	}
	for _, nodes := range byTrace {
		slices.SortStableFunc(nodes, byStart)
	}
	traceIDs := traceOrder(records, byTrace, byID)
	for i, id := range traceIDs {
		for _, n := range byTrace[id] {
			n.trace = i + 1
		}
	}

	for i, id := range traceIDs {
		var roots []*node
		for _, n := range byTrace[id] {
			parent, ok := byID[n.Span.ParentSpanID()]
			if ok && parent.Span.TraceID() == id && parent != n {
				parent.children = append(parent.children, n)
			} else {
				roots = append(roots, n)
			}
		}
		fmt.Fprintf(w, "\ntrace %d/%d  %s  (%s)\n", i+1, len(traceIDs), id, plural(len(byTrace[id]), "span"))
		for j, r := range roots {
			printNode(w, r, "", j == len(roots)-1, byID)
		}
	}
}

// traceOrder sorts traces by time, except that a trace linking to others
// comes after them (a batch after the messages it consumed), so that a link
// always points back up the printout.
func traceOrder(records []harness.SpanRecord, byTrace map[pcommon.TraceID][]*node, byID map[pcommon.SpanID]*node) []pcommon.TraceID {
	keys := map[pcommon.TraceID]pcommon.Timestamp{}
	var key func(id pcommon.TraceID, depth int) pcommon.Timestamp
	key = func(id pcommon.TraceID, depth int) pcommon.Timestamp {
		if k, ok := keys[id]; ok {
			return k
		}
		k := byTrace[id][0].Span.StartTimestamp()
		if depth < len(byTrace) { // links cannot loop the recursion forever
			for _, n := range byTrace[id] {
				for _, l := range n.Span.Links().All() {
					if t, ok := byID[l.SpanID()]; ok && l.TraceID() != id && t.Span.TraceID() == l.TraceID() {
						k = max(k, key(l.TraceID(), depth+1)+1)
					}
				}
			}
		}
		keys[id] = k
		return k
	}
	// Ties (messages produced in the same millisecond) keep export order,
	// which for the gateway's spans is offset order.
	ids := make([]pcommon.TraceID, 0, len(byTrace))
	listed := map[pcommon.TraceID]bool{}
	for _, r := range records {
		if id := r.Span.TraceID(); !listed[id] {
			listed[id] = true
			key(id, 0)
			ids = append(ids, id)
		}
	}
	slices.SortStableFunc(ids, func(a, b pcommon.TraceID) int { return cmp.Compare(keys[a], keys[b]) })
	return ids
}

func printNode(w io.Writer, n *node, prefix string, last bool, byID map[pcommon.SpanID]*node) {
	branch, cont := "├─ ", "│  "
	if last {
		branch, cont = "└─ ", "   "
	}
	s := n.Span
	origin := "gateway"
	if isApp(n.SpanRecord) {
		origin = "app"
	} else if s.Kind() == ptrace.SpanKindProducer {
		origin = "gateway, rebuilt"
	}
	fmt.Fprintf(w, "%s%s%s  %s  %s  [%s]", prefix, branch, s.Name(), kindName(s.Kind()), duration(s), origin)
	if p := s.ParentSpanID(); !p.IsEmpty() {
		if _, ok := byID[p]; !ok {
			fmt.Fprintf(w, "  (parent %s not exported)", p)
		}
	}
	fmt.Fprintln(w)
	inner := prefix + cont
	messaging, bag := formatAttributes(s.Attributes())
	for _, line := range []string{messaging, bag} {
		if line != "" {
			fmt.Fprintf(w, "%s   %s\n", inner, line)
		}
	}
	for _, l := range s.Links().All() {
		target := fmt.Sprintf("span %s of trace %s (not exported)", l.SpanID(), l.TraceID())
		if t, ok := byID[l.SpanID()]; ok && t.Span.TraceID() == l.TraceID() {
			target = fmt.Sprintf("%q in trace %d", t.Span.Name(), t.trace)
		}
		fmt.Fprintf(w, "%s   ↪ link to %s", inner, target)
		if messaging, bag := formatAttributes(l.Attributes()); messaging+bag != "" {
			fmt.Fprintf(w, "  %s", strings.TrimSpace(messaging+" "+bag))
		}
		fmt.Fprintln(w)
	}
	slices.SortStableFunc(n.children, byStart)
	for i, c := range n.children {
		printNode(w, c, inner, i == len(n.children)-1, byID)
	}
}

// formatAttributes returns the key messaging attributes and the baggage.*
// attributes (sorted), each as one "key=value ..." string.
func formatAttributes(m pcommon.Map) (messaging, bag string) {
	var parts []string
	for _, k := range keyAttributes {
		if v, ok := m.Get(k); ok {
			parts = append(parts, k+"="+v.AsString())
		}
	}
	// A settle span is named after its broker's operation (Kafka: "commit");
	// its operation type says what it is.
	if v, ok := m.Get("messaging.operation.type"); ok && v.AsString() == "settle" {
		parts = append(parts, "messaging.operation.type=settle")
	}
	var bags []string
	for k, v := range m.All() {
		if strings.HasPrefix(k, "baggage.") {
			bags = append(bags, k+"="+v.AsString())
		}
	}
	slices.Sort(bags)
	return strings.Join(parts, " "), strings.Join(bags, " ")
}

func byStart(a, b *node) int {
	return cmp.Compare(a.Span.StartTimestamp(), b.Span.StartTimestamp())
}

func kindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindProducer:
		return "PRODUCER"
	case ptrace.SpanKindConsumer:
		return "CONSUMER"
	case ptrace.SpanKindClient:
		return "CLIENT"
	case ptrace.SpanKindServer:
		return "SERVER"
	case ptrace.SpanKindInternal:
		return "INTERNAL"
	default:
		return "UNSPECIFIED"
	}
}

// duration renders a span's length at a precision a person reads at a glance.
func duration(s ptrace.Span) string {
	d := s.EndTimestamp().AsTime().Sub(s.StartTimestamp().AsTime())
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// summary is the one line closing the demo; with more than one broker it
// also counts the gateway's spans by messaging.system.
func summary(td ptrace.Traces) string {
	c := count(td)
	traces := map[pcommon.TraceID]struct{}{}
	batchSpans := 0
	bySystem := map[string]int{}
	for _, r := range harness.Spans(td) {
		traces[r.Span.TraceID()] = struct{}{}
		if isApp(r) {
			continue
		}
		if r.Span.Kind() == ptrace.SpanKindClient && r.Span.Links().Len() > 0 {
			batchSpans++
		}
		if v, ok := r.Span.Attributes().Get("messaging.system"); ok {
			bySystem[v.AsString()]++
		}
	}
	line := fmt.Sprintf("%d traces, %d spans: %d from the app over OTLP, %d from the gateway "+
		"(%d rebuilt send, %d receive per message, %d batch receive linking %d messages)",
		len(traces), td.SpanCount(), c.appSpans, td.SpanCount()-c.appSpans,
		sum(c.rebuilt), sum(c.perMessage), batchSpans, sum(c.perBatch))
	if n := sum(c.settled); n > 0 {
		line = strings.TrimSuffix(line, ")") + fmt.Sprintf(", %d settle by consumer groups)", n)
	}
	if len(bySystem) > 1 {
		var parts []string
		for _, system := range slices.Sorted(maps.Keys(bySystem)) {
			parts = append(parts, fmt.Sprintf("%s %d", system, bySystem[system]))
		}
		line += "; gateway spans by broker: " + strings.Join(parts, ", ")
	}
	return line
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
