package consumers

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// Names of the consumer metrics. Semantic conventions 1.44.0 define no
// consumer lag or time-in-queue metric (the time-in-queue one is an open
// request), so these are the receiver's own, under msgtrace.consumer.*; the
// receiver's README documents them.
const (
	MetricTimeInQueue = "msgtrace.consumer.time_in_queue"
	MetricLagMessages = "msgtrace.consumer.lag.messages"
	MetricLagAge      = "msgtrace.consumer.lag.age"
	MetricStuck       = "msgtrace.consumer.stuck"
	MetricUntracked   = "msgtrace.consumer.untracked"
)

// metrics builds the consumer metrics of every group seen, as of at:
// cumulative histogram and sums since the tracker started, gauges now.
func (t *Tracker) metrics(at time.Time) (pmetric.Metrics, int) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	d := t.set.Source.Derived
	if d.ServiceName != "" {
		rm.Resource().Attributes().PutStr(string(semconv.ServiceNameKey), d.ServiceName)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.SetSchemaUrl(spanmodel.SchemaURL)
	sm.Scope().SetName(d.ScopeName)
	sm.Scope().SetVersion(d.ScopeVersion)
	ms := sm.Metrics()

	hist := ms.AppendEmpty()
	hist.SetName(MetricTimeInQueue)
	hist.SetUnit("s")
	hist.SetDescription("Time from a message's creation to the poll that saw a consumer group settle it, per group, destination and partition.")
	hd := hist.SetEmptyHistogram()
	hd.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)

	lagMsgs := ms.AppendEmpty()
	lagMsgs.SetName(MetricLagMessages)
	lagMsgs.SetUnit("{message}")
	lagMsgs.SetDescription("Messages observed by the tap that a consumer group has not settled yet, per group, destination and partition.")
	lm := lagMsgs.SetEmptyGauge()

	lagAge := ms.AppendEmpty()
	lagAge.SetName(MetricLagAge)
	lagAge.SetUnit("s")
	lagAge.SetDescription("Age of the oldest message a consumer group has not settled yet (0 when it has settled everything observed), per group, destination and partition.")
	la := lagAge.SetEmptyGauge()

	stuck := ms.AppendEmpty()
	stuck.SetName(MetricStuck)
	stuck.SetUnit("{message}")
	stuck.SetDescription("Messages a consumer group had not settled within consumers.stuck_after of their creation.")
	st := stuck.SetEmptySum()
	st.SetIsMonotonic(true)
	st.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)

	untracked := ms.AppendEmpty()
	untracked.SetName(MetricUntracked)
	untracked.SetUnit("{message}")
	untracked.SetDescription("Messages a consumer group settled after consumers.max_tracked_bytes evicted them from the index: no settle span, time in queue interpolated.")
	ut := untracked.SetEmptySum()
	ut.SetIsMonotonic(true)
	ut.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)

	now := pcommon.NewTimestampFromTime(at)
	points := 0
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, lp := range t.parts {
		lp.mu.Lock()
		p := &lp.p
		for name, g := range p.groups {
			if !g.seen {
				continue
			}
			points++
			h := hd.DataPoints().AppendEmpty()
			t.putPointAttrs(h.Attributes(), p, name)
			h.SetStartTimestamp(t.start)
			h.SetTimestamp(now)
			h.SetCount(g.hist.count)
			h.SetSum(g.hist.sum)
			if g.hist.count > 0 {
				h.SetMin(g.hist.min)
				h.SetMax(g.hist.max)
			}
			h.ExplicitBounds().FromRaw(timeInQueueBounds)
			h.BucketCounts().FromRaw(g.hist.counts[:])

			if !g.perMessage {
				n := lm.DataPoints().AppendEmpty()
				t.putPointAttrs(n.Attributes(), p, name)
				n.SetTimestamp(now)
				n.SetIntValue(g.lagMessages)
				a := la.DataPoints().AppendEmpty()
				t.putPointAttrs(a.Attributes(), p, name)
				a.SetTimestamp(now)
				a.SetDoubleValue(g.lagAge)
			}
			for _, c := range [...]struct {
				sum pmetric.Sum
				v   int64
			}{{st, g.stuck}, {ut, g.untracked}} {
				dp := c.sum.DataPoints().AppendEmpty()
				t.putPointAttrs(dp.Attributes(), p, name)
				dp.SetStartTimestamp(t.start)
				dp.SetTimestamp(now)
				dp.SetIntValue(c.v)
			}
		}
		lp.mu.Unlock()
	}
	return md, points
}

func (t *Tracker) putPointAttrs(attrs pcommon.Map, p *partition, group string) {
	attrs.EnsureCapacity(4)
	attrs.PutStr(string(semconv.MessagingSystemKey), t.set.System)
	attrs.PutStr(string(semconv.MessagingConsumerGroupNameKey), group)
	attrs.PutStr(string(semconv.MessagingDestinationNameKey), p.dest)
	if p.part != "" {
		attrs.PutStr(string(semconv.MessagingDestinationPartitionIDKey), p.part)
	}
}
