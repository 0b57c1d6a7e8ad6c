package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"context"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

// metricsRun is the state of one processMetrics call: what the batch went through (recorded
// once per batch) and the workspace of applyRenames.
type metricsRun struct {
	points     int64
	renamed    int64
	notRenamed [numReasons]int64
	work       workspace
}

// processMetrics migrates the messaging metrics of md in place: deprecated metric names (with
// merging, see migrateScopeMetrics) and the messaging attributes of data points.
func (p *semconvProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	var st metricsRun
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			if sm := sms.At(j); p.migrateScopeMetrics(sm, &st) {
				sm.SetSchemaUrl(p.schemaURL)
			}
		}
	}
	if st.points > 0 {
		p.telemetry.ProcessorSemconvDataPointsMigrated.Add(ctx, st.points)
	}
	if st.renamed > 0 {
		p.telemetry.ProcessorSemconvMetricsRenamed.Add(ctx, st.renamed)
	}
	for r, n := range st.notRenamed {
		if n > 0 {
			p.telemetry.ProcessorSemconvMetricsNotRenamed.Add(ctx, n, p.notRenamed[r])
		}
	}
	return md, nil
}

// scopeRenames tracks the new names given inside one scope.
type scopeRenames struct {
	// existing are the metric names the scope had before migration.
	existing map[string]bool
	// taken maps a new name to the metric that took it and the operation its old name implied.
	taken map[string]takenName
}

type takenName struct {
	metric    pmetric.Metric
	operation string
}

// migrateScopeMetrics migrates the metrics of one scope and reports whether the scope now follows
// 1.44: it changed something and no deprecated metric kept its old name (a scope that still holds
// messaging.publish.duration does not follow the 1.44 schema, so it keeps its schema_url).
//
// A deprecated metric takes its 1.44 name unless
//   - the scope already has a metric of that name (an SDK emitting old and new side by side):
//     the old one is left as it is (reason target_exists);
//   - its type or unit does not fit the new metric (a gauge for a counter, "ms" for "s"): left as
//     it is (reason incompatible);
//   - another deprecated metric of the scope already took the name: its data points are merged
//     into that metric when both have the same type and temporality and their old names imply
//     two different operations (messaging.publish.duration and messaging.receive.duration become
//     one messaging.client.operation.duration whose points differ by messaging.operation.name);
//     otherwise it is left as it is (reason conflict), because merging would mix two series of
//     the same attributes.
//
// So a scope never holds two metrics of one name with different types.
func (p *semconvProcessor) migrateScopeMetrics(sm pmetric.ScopeMetrics, st *metricsRun) bool {
	ms := sm.Metrics()
	n := ms.Len()
	changed, kept := false, false
	var sr *scopeRenames
	var remove []bool
	for i := 0; i < n; i++ {
		m := ms.At(i)
		r, deprecated := p.idx.MetricRename(m.Name())
		if !deprecated {
			current, _ := p.idx.Metric(m.Name())
			// A metric that keeps its name has one set of data points: in duplicate mode they
			// carry old and new attributes side by side.
			if pts := p.migrateDataPoints(m, pointMigration{operation: current.Operation, operationType: current.OperationType, keepOld: p.duplicate}, &st.work); pts > 0 {
				st.points += pts
				changed = true
			}
			continue
		}
		if sr == nil {
			sr = newScopeRenames(ms)
		}
		target, _ := p.idx.Metric(r.To) // the generator fails on a rename to an unknown metric
		taken, isTaken := sr.taken[r.To]
		switch {
		case sr.existing[r.To]:
			p.keepOldName(m, r, reasonTargetExists, st)
			kept = true
		case !fits(m, target):
			p.keepOldName(m, r, reasonIncompatible, st)
			kept = true
		case isTaken && !mergeable(taken, m, r.Operation):
			p.keepOldName(m, r, reasonConflict, st)
			kept = true
		case isTaken:
			src := m
			if p.duplicate {
				src = pmetric.NewMetric()
				m.CopyTo(src)
			} else {
				if remove == nil {
					remove = make([]bool, n)
				}
				remove[i] = true
			}
			st.points += p.migrateDataPoints(src, pointMigration{operation: r.Operation, operationType: target.OperationType}, &st.work)
			moveDataPoints(src, taken.metric)
			st.renamed++
			changed = true
		default:
			dst := m
			if p.duplicate {
				dst = ms.AppendEmpty()
				m.CopyTo(dst)
			}
			dst.SetName(target.Name)
			dst.SetUnit(target.Unit)
			dst.SetDescription(target.Brief)
			st.points += p.migrateDataPoints(dst, pointMigration{operation: r.Operation, operationType: target.OperationType}, &st.work)
			sr.taken[r.To] = takenName{metric: dst, operation: r.Operation}
			st.renamed++
			changed = true
		}
	}
	if remove != nil {
		i := -1
		ms.RemoveIf(func(pmetric.Metric) bool {
			i++
			return i < n && remove[i]
		})
	}
	return changed && !kept
}

func newScopeRenames(ms pmetric.MetricSlice) *scopeRenames {
	sr := &scopeRenames{existing: make(map[string]bool, ms.Len()), taken: map[string]takenName{}}
	for i := 0; i < ms.Len(); i++ {
		sr.existing[ms.At(i).Name()] = true
	}
	return sr
}

func (p *semconvProcessor) keepOldName(m pmetric.Metric, r renames.MetricRename, reason notRenamedReason, st *metricsRun) {
	st.notRenamed[reason]++
	p.logger.Debug("Deprecated messaging metric keeps its name",
		zap.String("metric", m.Name()), zap.String("new_name", r.To), zap.Stringer("reason", reason))
}

// fits reports whether m has the instrument type and unit of target. Units must be equal, except
// that an empty unit fits any target, and a count may go from "1", "message", "messages" or
// "{messages}" to "{message}".
func fits(m pmetric.Metric, target renames.Metric) bool {
	if !unitFits(m.Unit(), target.Unit) {
		return false
	}
	switch target.Instrument {
	case "histogram":
		return m.Type() == pmetric.MetricTypeHistogram || m.Type() == pmetric.MetricTypeExponentialHistogram
	case "counter":
		return m.Type() == pmetric.MetricTypeSum && m.Sum().IsMonotonic()
	case "updowncounter":
		return m.Type() == pmetric.MetricTypeSum && !m.Sum().IsMonotonic()
	case "gauge":
		return m.Type() == pmetric.MetricTypeGauge
	default:
		return false
	}
}

func unitFits(unit, target string) bool {
	// An empty unit states none, so the old metric's own definition applies: semconv gave every
	// deprecated messaging metric the unit of its new name. OpenTelemetry.Instrumentation.ConfluentKafka
	// 0.1.0-alpha.1 and .2 create their histograms without a unit and record seconds.
	if unit == target || unit == "" {
		return true
	}
	word, ok := strings.CutPrefix(target, "{")
	if !ok {
		return false
	}
	word = strings.TrimSuffix(word, "}")
	if unit == "" || unit == "1" {
		return true
	}
	u := strings.TrimSuffix(strings.TrimPrefix(unit, "{"), "}")
	return u == word || u == word+"s"
}

// mergeable reports whether m can join the metric that took its new name: same type and
// temporality (and monotonicity), and distinct operations implied by the two old names, which
// become distinct messaging.operation.name values on the data points.
func mergeable(taken takenName, m pmetric.Metric, operation string) bool {
	t := taken.metric
	if operation == "" || taken.operation == "" || operation == taken.operation || t.Type() != m.Type() {
		return false
	}
	switch m.Type() {
	case pmetric.MetricTypeSum:
		return t.Sum().AggregationTemporality() == m.Sum().AggregationTemporality() &&
			t.Sum().IsMonotonic() == m.Sum().IsMonotonic()
	case pmetric.MetricTypeHistogram:
		return t.Histogram().AggregationTemporality() == m.Histogram().AggregationTemporality()
	case pmetric.MetricTypeExponentialHistogram:
		return t.ExponentialHistogram().AggregationTemporality() == m.ExponentialHistogram().AggregationTemporality()
	case pmetric.MetricTypeGauge:
		return true
	default:
		return false
	}
}

// moveDataPoints appends the data points of src to dst, which has the same type.
func moveDataPoints(src, dst pmetric.Metric) {
	switch src.Type() {
	case pmetric.MetricTypeGauge:
		src.Gauge().DataPoints().MoveAndAppendTo(dst.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		src.Sum().DataPoints().MoveAndAppendTo(dst.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		src.Histogram().DataPoints().MoveAndAppendTo(dst.Histogram().DataPoints())
	case pmetric.MetricTypeExponentialHistogram:
		src.ExponentialHistogram().DataPoints().MoveAndAppendTo(dst.ExponentialHistogram().DataPoints())
	case pmetric.MetricTypeSummary:
		src.Summary().DataPoints().MoveAndAppendTo(dst.Summary().DataPoints())
	}
}

// migrateDataPoints migrates the attributes of every data point of m and returns how many changed.
func (p *semconvProcessor) migrateDataPoints(m pmetric.Metric, pm pointMigration, work *workspace) int64 {
	var n int64
	count := func(changed bool) {
		if changed {
			n++
		}
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for i, dps := 0, m.Gauge().DataPoints(); i < dps.Len(); i++ {
			count(p.migratePoint(dps.At(i).Attributes(), pm, work))
		}
	case pmetric.MetricTypeSum:
		for i, dps := 0, m.Sum().DataPoints(); i < dps.Len(); i++ {
			count(p.migratePoint(dps.At(i).Attributes(), pm, work))
		}
	case pmetric.MetricTypeHistogram:
		for i, dps := 0, m.Histogram().DataPoints(); i < dps.Len(); i++ {
			count(p.migratePoint(dps.At(i).Attributes(), pm, work))
		}
	case pmetric.MetricTypeExponentialHistogram:
		for i, dps := 0, m.ExponentialHistogram().DataPoints(); i < dps.Len(); i++ {
			count(p.migratePoint(dps.At(i).Attributes(), pm, work))
		}
	case pmetric.MetricTypeSummary:
		for i, dps := 0, m.Summary().DataPoints(); i < dps.Len(); i++ {
			count(p.migratePoint(dps.At(i).Attributes(), pm, work))
		}
	}
	return n
}

// pointMigration is what migratePoint does to the data points of one metric.
type pointMigration struct {
	// operation is the messaging.operation.type the metric's name implies ("" for none).
	operation string
	// operationType says whether the metric carries messaging.operation.type.
	operationType bool
	// keepOld keeps the old attribute keys beside the new ones.
	keepOld bool
}

// migratePoint migrates the attributes of one data point: the renames, and the operation the
// metric's name implies when the point lacks messaging.operation.name (or, for a metric that has
// it, messaging.operation.type).
func (p *semconvProcessor) migratePoint(attrs pcommon.Map, pm pointMigration, work *workspace) bool {
	var buf scanBuffers
	var fs facts
	sc := p.scanAttributes(attrs, renames.Metrics, &buf, &fs)
	needOperation := pm.operation != "" && (!fs.has(factOpName) || (pm.operationType && !fs.has(factOpType)))
	if !sc.old() && !needOperation {
		return false
	}
	p.applyRenames(attrs, &sc, &fs, pm.keepOld, work)
	if pm.operation != "" {
		if !has(attrs, keyOperationName) {
			attrs.PutStr(keyOperationName, pm.operation)
		}
		if pm.operationType && !has(attrs, keyOperationType) {
			attrs.PutStr(keyOperationType, pm.operation)
		}
	}
	return true
}
