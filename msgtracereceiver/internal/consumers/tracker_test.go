package consumers

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

var t0 = time.Unix(1_700_000_000, 0)

type sinks struct {
	traces  *consumertest.TracesSink
	metrics *consumertest.MetricsSink
}

func newTestTracker(t *testing.T, mutate func(*Config)) (*Tracker, sinks) {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.Enabled = true
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := sinks{new(consumertest.TracesSink), new(consumertest.MetricsSink)}
	tr, err := New(Settings{System: "kafka", OperationName: "commit", Config: cfg, OwnGroup: "tap",
		Source: message.Settings{Derived: message.Derived{Traces: s.traces, Metrics: s.metrics, ServiceName: "svc"}}})
	if err != nil {
		t.Fatal(err)
	}
	return tr, s
}

// observeN observes offsets [from, to) of orders/0, message i created at t0+i s.
func observeN(tr *Tracker, from, to int) {
	for i := from; i < to; i++ {
		tr.Observe(message.Message{System: "kafka", Destination: "orders", Partition: "0",
			Identity: "c/orders/0/" + strconv.Itoa(i), Timestamp: t0.Add(time.Duration(i) * time.Second),
			Observed: t0.Add(time.Duration(i)*time.Second + time.Millisecond)}, Position{Hi: uint64(i)})
	}
}

func settleSpans(td []ptrace.Traces, group string) map[string]ptrace.Span {
	out := map[string]ptrace.Span{}
	for _, tr := range td {
		for i := 0; i < tr.ResourceSpans().Len(); i++ {
			ss := tr.ResourceSpans().At(i).ScopeSpans().At(0).Spans()
			for j := 0; j < ss.Len(); j++ {
				s := ss.At(j)
				if g, _ := s.Attributes().Get("messaging.consumer.group.name"); g.Str() == group {
					out[s.SpanID().String()] = s
				}
			}
		}
	}
	return out
}

// point returns the last flushed value of metric name for group.
func point(t *testing.T, ms []pmetric.Metrics, name, group string) float64 {
	t.Helper()
	md := ms[len(ms)-1]
	m := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < m.Len(); i++ {
		if m.At(i).Name() != name {
			continue
		}
		var dps pmetric.NumberDataPointSlice
		switch m.At(i).Type() {
		case pmetric.MetricTypeGauge:
			dps = m.At(i).Gauge().DataPoints()
		case pmetric.MetricTypeSum:
			dps = m.At(i).Sum().DataPoints()
		case pmetric.MetricTypeHistogram:
			h := m.At(i).Histogram().DataPoints()
			for j := 0; j < h.Len(); j++ {
				if g, _ := h.At(j).Attributes().Get("messaging.consumer.group.name"); g.Str() == group {
					return float64(h.At(j).Count())
				}
			}
		}
		for j := 0; j < dps.Len(); j++ {
			if g, _ := dps.At(j).Attributes().Get("messaging.consumer.group.name"); g.Str() == group {
				if dps.At(j).ValueType() == pmetric.NumberDataPointValueTypeInt {
					return float64(dps.At(j).IntValue())
				}
				return dps.At(j).DoubleValue()
			}
		}
	}
	t.Fatalf("no %s point for group %s", name, group)
	return 0
}

func TestFrontierSettlesOnceAndDatesToThePoll(t *testing.T) {
	tr, s := newTestTracker(t, nil)
	observeN(tr, 0, 10)
	tr.Frontier("app", "orders", "0", Position{Hi: 0}, t0.Add(10*time.Second)) // baseline
	tr.Flush(context.Background(), t0.Add(10*time.Second))
	if n := len(settleSpans(s.traces.AllTraces(), "app")); n != 0 {
		t.Fatalf("baseline yielded %d spans", n)
	}
	poll := t0.Add(12 * time.Second)
	tr.Frontier("app", "orders", "0", Position{Hi: 4}, poll)
	tr.Frontier("app", "orders", "0", Position{Hi: 4}, poll.Add(time.Second)) // no move
	tr.Flush(context.Background(), poll)
	spans := settleSpans(s.traces.AllTraces(), "app")
	if len(spans) != 4 {
		t.Fatalf("settle spans = %d, want 4 (offsets 0..3)", len(spans))
	}
	for _, sp := range spans {
		if sp.Name() != "commit orders" || sp.Kind() != ptrace.SpanKindClient || !sp.EndTimestamp().AsTime().Equal(poll) {
			t.Fatalf("span %s kind %v end %v", sp.Name(), sp.Kind(), sp.EndTimestamp().AsTime())
		}
		if op, _ := sp.Attributes().Get("messaging.operation.type"); op.Str() != "settle" {
			t.Fatalf("operation.type = %q", op.Str())
		}
	}
	if got := point(t, s.metrics.AllMetrics(), MetricLagMessages, "app"); got != 6 {
		t.Fatalf("lag messages = %v, want 6", got)
	}
	// Oldest unsettled is offset 4, created t0+4s; last poll t0+13s.
	if got := point(t, s.metrics.AllMetrics(), MetricLagAge, "app"); got != 9 {
		t.Fatalf("lag age = %v, want 9", got)
	}
	if got := point(t, s.metrics.AllMetrics(), MetricTimeInQueue, "app"); got != 4 {
		t.Fatalf("time_in_queue count = %v, want 4", got)
	}
}

func TestRewindYieldsNoDuplicateSettle(t *testing.T) {
	tr, s := newTestTracker(t, nil)
	observeN(tr, 0, 10)
	tr.Frontier("app", "orders", "0", Position{Hi: 0}, t0.Add(10*time.Second))
	tr.Frontier("app", "orders", "0", Position{Hi: 8}, t0.Add(11*time.Second))
	tr.Frontier("app", "orders", "0", Position{Hi: 2}, t0.Add(12*time.Second)) // reset back
	tr.Flush(context.Background(), t0.Add(12*time.Second))
	if got := point(t, s.metrics.AllMetrics(), MetricLagMessages, "app"); got != 8 {
		t.Fatalf("lag after rewind = %v, want 8 (offsets 2..9 to process again)", got)
	}
	tr.Frontier("app", "orders", "0", Position{Hi: 10}, t0.Add(13*time.Second))
	tr.Flush(context.Background(), t0.Add(13*time.Second))
	if n := len(settleSpans(s.traces.AllTraces(), "app")); n != 10 {
		t.Fatalf("settle spans = %d, want 10: one per message despite the rewind", n)
	}
	if s.traces.SpanCount() != 10 {
		t.Fatalf("span count = %d, want 10", s.traces.SpanCount())
	}
}

func TestStoppedGroupLagGrowsAndCountsStuck(t *testing.T) {
	tr, s := newTestTracker(t, func(c *Config) { c.StuckAfter = 5 * time.Second })
	observeN(tr, 0, 3)
	tr.Frontier("fast", "orders", "0", Position{Hi: 0}, t0.Add(3*time.Second))
	tr.Frontier("stopped", "orders", "0", Position{Hi: 0}, t0.Add(3*time.Second))
	observeN(tr, 3, 20)
	at := t0.Add(20 * time.Second)
	tr.Frontier("fast", "orders", "0", Position{Hi: 20}, at)
	tr.Frontier("stopped", "orders", "0", Position{Hi: 0}, at)
	tr.Flush(context.Background(), at)
	ms := s.metrics.AllMetrics()
	if got := point(t, ms, MetricLagMessages, "stopped"); got != 20 {
		t.Fatalf("stopped lag = %v, want 20", got)
	}
	if got := point(t, ms, MetricLagAge, "stopped"); got != 20 {
		t.Fatalf("stopped lag age = %v, want 20", got)
	}
	if got := point(t, ms, MetricLagMessages, "fast"); got != 0 {
		t.Fatalf("fast lag = %v, want 0", got)
	}
	// Created at t0+0..t0+15 are older than 5s at t0+20.
	if got := point(t, ms, MetricStuck, "stopped"); got != 16 {
		t.Fatalf("stuck = %v, want 16", got)
	}
	if got := point(t, ms, MetricStuck, "fast"); got != 0 {
		t.Fatalf("fast stuck = %v, want 0", got)
	}
}

func TestByteCapEvictsAndInterpolates(t *testing.T) {
	tr, s := newTestTracker(t, func(c *Config) { c.MaxTrackedBytes = minTrackedBytes })
	capEntries := int(minTrackedBytes / entryBytes)
	tr.Frontier("stopped", "orders", "0", Position{Hi: 0}, t0)
	observeN(tr, 0, 4*capEntries)
	if b := tr.TrackedBytes(); b > minTrackedBytes {
		t.Fatalf("tracked bytes %d beyond the cap %d", b, minTrackedBytes)
	}
	at := t0.Add(time.Duration(4*capEntries) * time.Second)
	tr.Frontier("stopped", "orders", "0", Position{Hi: 0}, at)
	tr.Flush(context.Background(), at)
	ms := s.metrics.AllMetrics()
	// The anchor (offset 0) was taken while tracked: lag stays exact.
	if got := point(t, ms, MetricLagMessages, "stopped"); got != float64(4*capEntries) {
		t.Fatalf("lag = %v, want %d", got, 4*capEntries)
	}
	if got := point(t, ms, MetricLagAge, "stopped"); got != float64(4*capEntries) {
		t.Fatalf("lag age = %v, want %d", got, 4*capEntries)
	}
	// Settling half: the evicted part yields no span, counts as untracked.
	half := 2 * capEntries
	tr.Frontier("stopped", "orders", "0", Position{Hi: uint64(half)}, at)
	tr.Flush(context.Background(), at)
	ms = s.metrics.AllMetrics()
	untracked := point(t, ms, MetricUntracked, "stopped")
	spans := len(settleSpans(s.traces.AllTraces(), "stopped"))
	if untracked == 0 || int(untracked)+spans != half {
		t.Fatalf("untracked %v + spans %d, want %d in all with some untracked", untracked, spans, half)
	}
	if got := point(t, ms, MetricTimeInQueue, "stopped"); got != float64(half) {
		t.Fatalf("time_in_queue count = %v, want %d", got, half)
	}
	// Interpolated lag after a rewind into the evicted part: exact for dense offsets.
	tr.Frontier("stopped", "orders", "0", Position{Hi: 100}, at)
	tr.Flush(context.Background(), at)
	if got := point(t, s.metrics.AllMetrics(), MetricLagMessages, "stopped"); got < float64(4*capEntries-100-64) || got > float64(4*capEntries-100) {
		t.Fatalf("interpolated lag = %v, want about %d", got, 4*capEntries-100)
	}
}

func TestOwnAndUnmatchedGroupsAreIgnored(t *testing.T) {
	tr, s := newTestTracker(t, func(c *Config) { c.Groups = []string{"billing", "^app-"} })
	observeN(tr, 0, 5)
	groups := []string{"tap", "other", "billing", "app-1"}
	for _, g := range groups {
		tr.Frontier(g, "orders", "0", Position{}, t0)
	}
	for _, g := range groups {
		tr.Frontier(g, "orders", "0", Position{Hi: 5}, t0.Add(time.Minute))
	}
	tr.Flush(context.Background(), t0.Add(time.Minute))
	for g, want := range map[string]int{"tap": 0, "other": 0, "billing": 5, "app-1": 5} {
		if n := len(settleSpans(s.traces.AllTraces(), g)); n != want {
			t.Errorf("group %s: %d spans, want %d", g, n, want)
		}
	}
}

func TestSettledPerMessage(t *testing.T) {
	tr, s := newTestTracker(t, func(c *Config) { c.Spans = SpansCommit })
	m := message.Message{System: "rabbitmq", Destination: "orders", Identity: "x", Timestamp: t0, Observed: t0,
		TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	tr.Settled("q1", m, t0.Add(2*time.Second))
	tr.Flush(context.Background(), t0.Add(2*time.Second))
	if s.traces.SpanCount() != 1 {
		t.Fatalf("spans = %d, want 1 commit span", s.traces.SpanCount())
	}
	sp := s.traces.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	if sp.Links().Len() != 1 || sp.Links().At(0).SpanID().String() != "b7ad6b7169203331" {
		t.Fatalf("links = %d", sp.Links().Len())
	}
}

func TestConfigValidateReportsEveryError(t *testing.T) {
	c := Config{Spans: "x", Groups: []string{"", "^("}}
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"poll_interval", "spans", "stuck_after", "max_tracked_bytes", "groups[0]", "groups[1]"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestBaselineAheadOfTheTap(t *testing.T) {
	tr, s := newTestTracker(t, nil)
	// The group had committed 5 before the tap observed anything.
	tr.Frontier("app", "orders", "0", Position{Hi: 5}, t0)
	observeN(tr, 0, 8)
	tr.Frontier("app", "orders", "0", Position{Hi: 5}, t0.Add(time.Second))
	tr.Frontier("app", "orders", "0", Position{Hi: 8}, t0.Add(2*time.Second))
	tr.Flush(context.Background(), t0.Add(2*time.Second))
	if n := len(settleSpans(s.traces.AllTraces(), "app")); n != 3 {
		t.Fatalf("settle spans = %d, want 3 (offsets 5..7; 0..4 were settled before the baseline)", n)
	}
}

// endsByOffset maps the offset of each settle span of group to its end.
func endsByOffset(t *testing.T, td []ptrace.Traces, group string) map[int64]time.Time {
	t.Helper()
	out := map[int64]time.Time{}
	for _, sp := range settleSpans(td, group) {
		// Message i was created at t0+i s (observeN).
		off := int64(sp.StartTimestamp().AsTime().Sub(t0) / time.Second)
		if _, dup := out[off]; dup {
			t.Fatalf("offset %d settled twice", off)
		}
		out[off] = sp.EndTimestamp().AsTime()
	}
	return out
}

// settledAt calls SettledAt and reports whether it was used: a used settle
// is held as an early settle, counted in the tracked bytes until the
// frontier passes it.
func settledAt(tr *Tracker, group, dest, part string, pos Position, at time.Time) bool {
	before := tr.TrackedBytes()
	tr.SettledAt(group, dest, part, pos, at)
	return tr.TrackedBytes() == before+earlyBytes
}

// A message dated by SettledAt ends its settle span then; the frontier that
// passes it later settles the others at the poll, and it not again.
func TestSettledAtDatesExactlyAndOnce(t *testing.T) {
	tr, s := newTestTracker(t, nil)
	observeN(tr, 0, 6)
	tr.Frontier("app", "orders", "0", Position{Hi: 0}, t0.Add(6*time.Second)) // baseline
	acked := t0.Add(7*time.Second + 250*time.Millisecond)
	if !settledAt(tr, "app", "orders", "0", Position{Hi: 2}, acked) {
		t.Fatal("SettledAt of an indexed message was not used")
	}
	if settledAt(tr, "app", "orders", "0", Position{Hi: 2}, acked.Add(time.Second)) {
		t.Fatal("a second SettledAt of the same message was used")
	}
	if got := tr.TrackedBytes(); got != 6*entryBytes+earlyBytes {
		t.Fatalf("tracked bytes = %d, want %d", got, 6*entryBytes+earlyBytes)
	}
	poll := t0.Add(9 * time.Second)
	tr.Frontier("app", "orders", "0", Position{Hi: 4}, poll)
	tr.Flush(context.Background(), poll)

	ends := endsByOffset(t, s.traces.AllTraces(), "app")
	want := map[int64]time.Time{0: poll, 1: poll, 2: acked, 3: poll}
	if len(ends) != len(want) {
		t.Fatalf("settled offsets %v, want %v", ends, want)
	}
	for off, end := range want {
		if !ends[off].Equal(end) {
			t.Errorf("offset %d ends at %v, want %v", off, ends[off], end)
		}
	}
	if got := point(t, s.metrics.AllMetrics(), MetricTimeInQueue, "app"); got != 4 {
		t.Fatalf("time_in_queue count = %v, want 4: one sample per message", got)
	}
	// Offset 2 waited 5.25 s, the others until the poll: 9, 8 and 6 s.
	if sum := histSum(t, s, "app"); sum != 5.25+9+8+6 {
		t.Fatalf("time_in_queue sum = %v, want %v", sum, 5.25+9+8+6)
	}
	// The frontier passed it: its early settle is gone.
	if got := tr.TrackedBytes(); got != 2*entryBytes {
		t.Fatalf("tracked bytes = %d, want %d (offsets 4 and 5, no early settle)", got, 2*entryBytes)
	}
	if settledAt(tr, "app", "orders", "0", Position{Hi: 3}, poll) {
		t.Fatal("SettledAt of a message the frontier passed was used")
	}
}

// Messages ahead of the frontier dated by SettledAt are settled: not in
// the lag, not stuck.
func TestSettledAtAheadOfTheFloor(t *testing.T) {
	tr, s := newTestTracker(t, func(c *Config) { c.StuckAfter = time.Second })
	observeN(tr, 0, 4)
	tr.Frontier("app", "orders", "0", Position{Hi: 0}, t0.Add(4*time.Second))
	tr.SettledAt("app", "orders", "0", Position{Hi: 1}, t0.Add(5*time.Second))
	tr.SettledAt("app", "orders", "0", Position{Hi: 3}, t0.Add(5*time.Second))
	at := t0.Add(10 * time.Second)
	tr.Frontier("app", "orders", "0", Position{Hi: 0}, at) // offset 0 holds the floor
	tr.Flush(context.Background(), at)
	ms := s.metrics.AllMetrics()
	if got := point(t, ms, MetricLagMessages, "app"); got != 2 {
		t.Fatalf("lag = %v, want 2 (offsets 0 and 2)", got)
	}
	if got := point(t, ms, MetricStuck, "app"); got != 2 {
		t.Fatalf("stuck = %v, want 2 (offsets 0 and 2)", got)
	}
	if got := point(t, ms, MetricLagAge, "app"); got != 10 {
		t.Fatalf("lag age = %v, want 10 (offset 0)", got)
	}
	if n := len(settleSpans(s.traces.AllTraces(), "app")); n != 2 {
		t.Fatalf("settle spans = %d, want 2", n)
	}
}

// What the index cannot place is ignored: no group baseline yet, before
// the baseline, not observed, evicted, an unknown partition or group.
func TestSettledAtIgnoresUnknownPositions(t *testing.T) {
	tr, s := newTestTracker(t, func(c *Config) { c.MaxTrackedBytes = minTrackedBytes })
	observeN(tr, 0, 10)
	if settledAt(tr, "app", "orders", "0", Position{Hi: 5}, t0) {
		t.Fatal("used before the group's first Frontier")
	}
	tr.Frontier("app", "orders", "0", Position{Hi: 3}, t0.Add(10*time.Second))
	for name, pos := range map[string]Position{"before the baseline": {Hi: 1}, "not observed yet": {Hi: 10}, "between two": {Hi: 4, Lo: 1}} {
		if settledAt(tr, "app", "orders", "0", pos, t0) {
			t.Errorf("%s: used", name)
		}
	}
	if settledAt(tr, "app", "orders", "1", Position{Hi: 5}, t0) || settledAt(tr, "app", "other", "0", Position{Hi: 5}, t0) {
		t.Error("used on a partition never observed")
	}
	if settledAt(tr, "tap", "orders", "0", Position{Hi: 5}, t0) {
		t.Error("used for the tap's own group")
	}
	capEntries := int(minTrackedBytes / entryBytes)
	observeN(tr, 10, 2*capEntries) // evicts the oldest
	if settledAt(tr, "app", "orders", "0", Position{Hi: 5}, t0) {
		t.Error("used for an evicted message")
	}
	tr.Flush(context.Background(), t0)
	if n := s.traces.SpanCount(); n != 0 {
		t.Fatalf("spans = %d, want none", n)
	}
}

// Early settles are bounded per group and partition; beyond, the frontier
// dates the messages, and each is settled once.
func TestSettledAtIsBounded(t *testing.T) {
	tr, s := newTestTracker(t, nil)
	n := maxEarlySettles + 10
	observeN(tr, 0, n+1)
	tr.Frontier("app", "orders", "0", Position{Hi: 0}, t0)
	early := t0.Add(time.Duration(n+1) * time.Second)
	used := 0
	for i := 1; i <= n; i++ { // offset 0 holds the floor
		if settledAt(tr, "app", "orders", "0", Position{Hi: uint64(i)}, early) {
			used++
		}
	}
	if used != maxEarlySettles {
		t.Fatalf("early settles used = %d, want %d", used, maxEarlySettles)
	}
	if got := tr.TrackedBytes(); got != int64(n+1)*entryBytes+maxEarlySettles*earlyBytes {
		t.Fatalf("tracked bytes = %d", got)
	}
	poll := early.Add(time.Minute)
	tr.Frontier("app", "orders", "0", Position{Hi: uint64(n + 1)}, poll)
	tr.Flush(context.Background(), poll)
	ends := endsByOffset(t, s.traces.AllTraces(), "app")
	if len(ends) != n+1 {
		t.Fatalf("settle spans = %d, want %d", len(ends), n+1)
	}
	atPoll := 0
	for _, end := range ends {
		if end.Equal(poll) {
			atPoll++
		}
	}
	if atPoll != n+1-maxEarlySettles {
		t.Fatalf("dated by the poll = %d, want %d (offset 0 and those beyond the bound)", atPoll, n+1-maxEarlySettles)
	}
	if got := tr.TrackedBytes(); got != 0 {
		t.Fatalf("tracked bytes = %d after every message settled, want 0", got)
	}
	// Forget releases the early settles a group still holds.
	observeN(tr, n+1, n+3)
	if !settledAt(tr, "app", "orders", "0", Position{Hi: uint64(n + 2)}, poll) {
		t.Fatal("an early settle after the frontier moved was not used")
	}
	tr.Forget("app")
	if got := tr.TrackedBytes(); got != 2*entryBytes {
		t.Fatalf("tracked bytes = %d after Forget, want %d (the two entries)", got, 2*entryBytes)
	}
}

// Commit spans: the poll's span links the message, its time in queue is
// the exact one, once.
func TestSettledAtCommitSpans(t *testing.T) {
	tr, s := newTestTracker(t, func(c *Config) { c.Spans = SpansCommit })
	observeN(tr, 0, 3)
	tr.Frontier("app", "orders", "0", Position{Hi: 0}, t0.Add(3*time.Second))
	tr.SettledAt("app", "orders", "0", Position{Hi: 1}, t0.Add(4*time.Second))
	tr.Frontier("app", "orders", "0", Position{Hi: 3}, t0.Add(10*time.Second))
	tr.Flush(context.Background(), t0.Add(10*time.Second))
	if n := s.traces.SpanCount(); n != 1 {
		t.Fatalf("spans = %d, want one commit span", n)
	}
	if got := point(t, s.metrics.AllMetrics(), MetricTimeInQueue, "app"); got != 3 {
		t.Fatalf("time_in_queue count = %v, want 3", got)
	}
	if sum := histSum(t, s, "app"); sum != 10+3+8 {
		t.Fatalf("time_in_queue sum = %v, want %v", sum, 10+3+8)
	}
}

func histSum(t *testing.T, s sinks, group string) float64 {
	t.Helper()
	all := s.metrics.AllMetrics()
	m := all[len(all)-1].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < m.Len(); i++ {
		if m.At(i).Name() != MetricTimeInQueue {
			continue
		}
		dps := m.At(i).Histogram().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			if g, _ := dps.At(j).Attributes().Get("messaging.consumer.group.name"); g.Str() == group {
				return dps.At(j).Sum()
			}
		}
	}
	t.Fatalf("no time_in_queue point for %s", group)
	return 0
}

// hasPoint reports whether the last Flush has a lag point for group on dest.
func hasPoint(s sinks, group, dest string) bool {
	all := s.metrics.AllMetrics()
	m := all[len(all)-1].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < m.Len(); i++ {
		if m.At(i).Name() != MetricLagMessages {
			continue
		}
		dps := m.At(i).Gauge().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			g, _ := dps.At(j).Attributes().Get("messaging.consumer.group.name")
			d, _ := dps.At(j).Attributes().Get("messaging.destination.name")
			if g.Str() == group && d.Str() == dest {
				return true
			}
		}
	}
	return false
}

// ForgetOn drops a group from one partition only: it no longer pins that
// partition's messages nor has series there, and keeps the others.
func TestForgetOnDropsOnePartition(t *testing.T) {
	tr, s := newTestTracker(t, nil)
	for _, dest := range []string{"eu", "us"} {
		for i := range 4 {
			tr.Observe(message.Message{Destination: dest, Identity: dest + strconv.Itoa(i),
				Timestamp: t0.Add(time.Duration(i) * time.Second), Observed: t0.Add(5 * time.Second)}, Position{Hi: uint64(i)})
		}
	}
	for _, g := range []string{"narrowed", "all"} {
		tr.Frontier(g, "eu", "", Position{}, t0.Add(5*time.Second))
		tr.Frontier(g, "us", "", Position{}, t0.Add(5*time.Second))
	}
	tr.Frontier("narrowed", "eu", "", Position{Hi: 1}, t0.Add(6*time.Second))
	tr.SettledAt("narrowed", "us", "", Position{Hi: 2}, t0.Add(6*time.Second)) // an early settle held there
	if got := tr.TrackedBytes(); got != 8*entryBytes+earlyBytes {
		t.Fatalf("tracked bytes = %d, want %d", got, 8*entryBytes+earlyBytes)
	}

	tr.ForgetOn("narrowed", "us", "")
	tr.ForgetOn("narrowed", "nowhere", "") // a partition never observed: nothing to do
	at := t0.Add(7 * time.Second)
	tr.Frontier("all", "us", "", Position{Hi: 4}, at)
	tr.Frontier("all", "eu", "", Position{Hi: 4}, at)
	tr.Frontier("narrowed", "eu", "", Position{Hi: 1}, at)
	tr.Flush(context.Background(), at)
	// us: every entry settled by the only group left; eu: narrowed still holds 1..3.
	if got := tr.TrackedBytes(); got != 3*entryBytes {
		t.Fatalf("tracked bytes = %d, want %d (eu offsets 1..3 only)", got, 3*entryBytes)
	}
	if hasPoint(s, "narrowed", "us") {
		t.Fatal("the forgotten group still has a lag series on us")
	}
	if !hasPoint(s, "narrowed", "eu") || !hasPoint(s, "all", "us") {
		t.Fatal("ForgetOn dropped more than the group's series on us")
	}
}

// A settle dated before its message's creation (a skewed broker clock)
// ends when the message was created, and waited nothing.
func TestSettledAtNotBeforeCreation(t *testing.T) {
	tr, s := newTestTracker(t, nil)
	observeN(tr, 0, 3)
	tr.Frontier("app", "orders", "0", Position{Hi: 0}, t0.Add(3*time.Second))
	tr.SettledAt("app", "orders", "0", Position{Hi: 2}, t0) // offset 2 was created at t0+2s
	tr.Flush(context.Background(), t0.Add(3*time.Second))
	spans := settleSpans(s.traces.AllTraces(), "app")
	if len(spans) != 1 {
		t.Fatalf("settle spans = %d, want 1", len(spans))
	}
	for _, sp := range spans {
		if want := t0.Add(2 * time.Second); !sp.EndTimestamp().AsTime().Equal(want) || !sp.StartTimestamp().AsTime().Equal(want) {
			t.Fatalf("span %v..%v, want both at the creation %v", sp.StartTimestamp().AsTime(), sp.EndTimestamp().AsTime(), want)
		}
	}
	if sum := histSum(t, s, "app"); sum != 0 {
		t.Fatalf("time_in_queue sum = %v, want 0", sum)
	}
}
