package main

import (
	"fmt"
	"sort"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// counts is what the gateway exported, or must export, per kind of span.
type counts struct {
	// appSpans are the application's spans, received over OTLP.
	appSpans int
	// perMessage counts receive spans of one message each, by topic.
	perMessage map[string]int
	// perBatch counts messages seen through batch receive spans (one link
	// each), by topic.
	perBatch map[string]int
	// rebuilt counts the gateway's rebuilt send spans, by topic.
	rebuilt map[string]int
	// settled counts settle spans (an application group's commit seen by
	// the gateway, one per message and group), by topic.
	settled map[string]int
}

// expectation is what the demo's traffic must make the gateway export.
type expectation = counts

// isApp tells the application's spans from the gateway's own.
func isApp(r harness.SpanRecord) bool { return r.Scope.Name() == faststreamScope }

// count classifies the exported spans. A gateway span is told by its kind and
// messaging.destination.name, not by its name, so the count does not depend on
// naming details.
func count(td ptrace.Traces) counts {
	c := counts{perMessage: map[string]int{}, perBatch: map[string]int{}, rebuilt: map[string]int{}, settled: map[string]int{}}
	for _, r := range harness.Spans(td) {
		if isApp(r) {
			c.appSpans++
			continue
		}
		topic := ""
		if dest, ok := r.Span.Attributes().Get("messaging.destination.name"); ok {
			topic = dest.AsString()
		}
		if op, ok := r.Span.Attributes().Get("messaging.operation.type"); ok && op.AsString() == "settle" {
			c.settled[topic]++
			continue
		}
		switch r.Span.Kind() {
		case ptrace.SpanKindProducer:
			c.rebuilt[topic]++
		case ptrace.SpanKindClient:
			if n := r.Span.Links().Len(); n > 0 {
				c.perBatch[topic] += n
			} else {
				c.perMessage[topic]++
			}
		}
	}
	return c
}

// missing lists, sorted, what td still lacks to meet e; empty when met.
func (e expectation) missing(td ptrace.Traces) []string {
	got := count(td)
	var out []string
	if got.appSpans < e.appSpans {
		out = append(out, fmt.Sprintf("application spans: %d of %d", got.appSpans, e.appSpans))
	}
	check := func(what string, want, have map[string]int) {
		for topic, n := range want {
			if have[topic] < n {
				out = append(out, fmt.Sprintf("%s on %q: %d of %d", what, topic, have[topic], n))
			}
		}
	}
	check("receive spans", e.perMessage, got.perMessage)
	check("messages linked from batch receive spans", e.perBatch, got.perBatch)
	check("rebuilt send spans", e.rebuilt, got.rebuilt)
	check("settle spans", e.settled, got.settled)
	sort.Strings(out)
	return out
}
