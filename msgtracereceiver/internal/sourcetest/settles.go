package sourcetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Derived collects what a source with consumers enabled derives: settle
// spans and consumer metrics.
type Derived struct {
	Traces  *consumertest.TracesSink
	Metrics *consumertest.MetricsSink
}

// NewDerived returns empty sinks.
func NewDerived() *Derived {
	return &Derived{Traces: new(consumertest.TracesSink), Metrics: new(consumertest.MetricsSink)}
}

// Settings returns the settings a source is created with (see
// Recorder.Settings), its derived spans and metrics going to d.
func (d *Derived) Settings(t testing.TB, r *Recorder) message.Settings {
	set := r.Settings(t)
	set.Derived = message.Derived{Traces: d.Traces, Metrics: d.Metrics, ServiceName: "msgtrace-test"}
	return set
}

// SettleSpans returns the settle spans of group received so far.
func (d *Derived) SettleSpans(group string) []ptrace.Span {
	var out []ptrace.Span
	for _, td := range d.Traces.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			sss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					g, _ := s.Attributes().Get("messaging.consumer.group.name")
					op, _ := s.Attributes().Get("messaging.operation.type")
					if op.Str() == "settle" && g.Str() == group {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

// WaitSettles waits until group has at least n settle spans and returns them.
func (d *Derived) WaitSettles(t testing.TB, group string, n int) []ptrace.Span {
	t.Helper()
	require.Eventually(t, func() bool { return len(d.SettleSpans(group)) >= n },
		WaitLimit, 50*time.Millisecond, "group %s: want %d settle spans", group, n)
	return d.SettleSpans(group)
}

// Point is the latest data point of a consumer metric for one group.
type Point struct {
	Int    int64
	Double float64
	// Count is a histogram's count.
	Count uint64
	Attrs pcommon.Map
}

// Latest returns the latest data point of metric for group, if any.
func (d *Derived) Latest(metric, group string) (Point, bool) {
	all := d.Metrics.AllMetrics()
	for i := len(all) - 1; i >= 0; i-- {
		if p, ok := pointOf(all[i], metric, group); ok {
			return p, true
		}
	}
	return Point{}, false
}

func pointOf(md pmetric.Metrics, metric, group string) (Point, bool) {
	var found *Point
	ForPoints(md, metric, func(p Point) {
		if g, _ := p.Attrs.Get("messaging.consumer.group.name"); found == nil && g.Str() == group {
			found = &p
		}
	})
	if found == nil {
		return Point{}, false
	}
	return *found, true
}

// ForPoints calls f with every data point of metric in md (gauges, sums,
// histograms), in order.
func ForPoints(md pmetric.Metrics, metric string, f func(Point)) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				if m.Name() != metric {
					continue
				}
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					for n := 0; n < m.Gauge().DataPoints().Len(); n++ {
						dp := m.Gauge().DataPoints().At(n)
						f(Point{Int: dp.IntValue(), Double: dp.DoubleValue(), Attrs: dp.Attributes()})
					}
				case pmetric.MetricTypeSum:
					for n := 0; n < m.Sum().DataPoints().Len(); n++ {
						dp := m.Sum().DataPoints().At(n)
						f(Point{Int: dp.IntValue(), Double: dp.DoubleValue(), Attrs: dp.Attributes()})
					}
				case pmetric.MetricTypeHistogram:
					for n := 0; n < m.Histogram().DataPoints().Len(); n++ {
						dp := m.Histogram().DataPoints().At(n)
						f(Point{Count: dp.Count(), Double: dp.Sum(), Attrs: dp.Attributes()})
					}
				}
			}
		}
	}
}

// WaitWatched waits until the watcher reported group once (its first poll
// sets the group's baseline: what it settled before yields no span).
func (d *Derived) WaitWatched(t testing.TB, group string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, ok := d.Latest(consumers.MetricTimeInQueue, group)
		return ok
	}, WaitLimit, 20*time.Millisecond, "the watcher never reported group %s", group)
}

// WaitPoint waits until the latest point of metric for group satisfies ok.
func (d *Derived) WaitPoint(t testing.TB, metric, group string, ok func(Point) bool) Point {
	t.Helper()
	var last Point
	require.Eventually(t, func() bool {
		p, found := d.Latest(metric, group)
		last = p
		return found && ok(p)
	}, WaitLimit, 50*time.Millisecond, "%s of group %s never as expected (last %+v)", metric, group, last)
	return last
}

// InLastBatch reports whether the last metrics the source sent have a
// point of metric for group (Latest looks further back).
func (d *Derived) InLastBatch(metric, group string) bool {
	all := d.Metrics.AllMetrics()
	if len(all) == 0 {
		return false
	}
	_, ok := pointOf(all[len(all)-1], metric, group)
	return ok
}
