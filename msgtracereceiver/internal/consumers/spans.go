package consumers

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// Span flags as the receive spans have them (spanmodel): sampled, and
// whether the parent or link is known remote (OTLP bits 8 and 9).
const (
	flagsLocal  = 0x01 | 0x100
	flagsRemote = 0x01 | 0x100 | 0x200
)

// maxPendingSpans bounds the spans kept between two Flushes: a first poll
// after a long outage of the watcher could otherwise settle the whole index
// at once. Beyond it, settles still count in the metrics.
const maxPendingSpans = 1 << 16

// spans returns the span slice of the pending traces, creating its
// resource and scope.
func (t *Tracker) spans() ptrace.SpanSlice {
	rss := t.pending.ResourceSpans()
	if rss.Len() == 0 {
		rs := rss.AppendEmpty()
		if d := t.set.Source.Derived; d.ServiceName != "" {
			rs.Resource().Attributes().PutStr(string(semconv.ServiceNameKey), d.ServiceName)
		}
		ss := rs.ScopeSpans().AppendEmpty()
		ss.SetSchemaUrl(spanmodel.SchemaURL)
		ss.Scope().SetName(t.set.Source.Derived.ScopeName)
		ss.Scope().SetVersion(t.set.Source.Derived.ScopeVersion)
	}
	return rss.At(0).ScopeSpans().At(0).Spans()
}

// putSettleAttrs writes what a settle span says about the operation.
func (t *Tracker) putSettleAttrs(attrs pcommon.Map, p *partition, group string) {
	attrs.PutStr(string(semconv.MessagingSystemKey), t.set.System)
	attrs.PutStr(string(semconv.MessagingOperationTypeKey), semconv.MessagingOperationTypeSettle.Value.AsString())
	attrs.PutStr(string(semconv.MessagingOperationNameKey), t.set.OperationName)
	attrs.PutStr(string(semconv.MessagingDestinationNameKey), p.dest)
	if p.part != "" {
		attrs.PutStr(string(semconv.MessagingDestinationPartitionIDKey), p.part)
	}
	attrs.PutStr(string(semconv.MessagingConsumerGroupNameKey), group)
}

// appendSettleSpans adds one `{operation name} <destination>` CLIENT span per kept
// message: from its creation to the poll that saw it settled, child of its
// creation context.
func (t *Tracker) appendSettleSpans(p *partition, group string, settled []entry, now int64) {
	t.outMu.Lock()
	defer t.outMu.Unlock()
	spans := t.spans()
	// semconv: {messaging.operation.name} {destination} (Kafka "commit orders"),
	// with messaging.operation.type=settle.
	name := t.set.OperationName + " " + p.dest
	end := pcommon.Timestamp(now)
	for i := range settled {
		e := &settled[i]
		if !e.keep || t.nSpans >= maxPendingSpans {
			continue
		}
		t.nSpans++
		s := spans.AppendEmpty()
		s.SetSpanID(settleSpanID(group, e.idHash))
		if e.spanID.IsEmpty() {
			s.SetTraceID(settleTraceID(group, e.idHash))
			s.SetFlags(flagsLocal)
		} else {
			s.SetTraceID(e.traceID)
			s.SetParentSpanID(e.spanID)
			s.SetFlags(flagOf(e.remote))
		}
		s.SetName(name)
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.Timestamp(min(e.created, now)))
		s.SetEndTimestamp(end)
		attrs := s.Attributes()
		attrs.EnsureCapacity(8)
		t.putSettleAttrs(attrs, p, group)
		if t.set.PositionAttr != nil && e.hasPos {
			t.set.PositionAttr(attrs, e.pos)
		}
	}
}

// appendCommitSpan adds one settle span for what group settled since its
// previous poll, from that poll to this one, with a link per kept message.
func (t *Tracker) appendCommitSpan(p *partition, group string, g *groupState, settled []entry, now int64) {
	t.outMu.Lock()
	defer t.outMu.Unlock()
	if t.nSpans >= maxPendingSpans {
		return
	}
	t.nSpans++
	s := t.spans().AppendEmpty()
	tid, sid := commitIDs(group, settled[0].idHash, settled[len(settled)-1].idHash)
	s.SetTraceID(tid)
	s.SetSpanID(sid)
	s.SetFlags(flagsLocal)
	s.SetName(t.set.OperationName + " " + p.dest)
	s.SetKind(ptrace.SpanKindClient)
	s.SetStartTimestamp(pcommon.Timestamp(min(g.lastPoll, now)))
	s.SetEndTimestamp(pcommon.Timestamp(now))
	attrs := s.Attributes()
	t.putSettleAttrs(attrs, p, group)
	attrs.PutInt(string(semconv.MessagingBatchMessageCountKey), int64(len(settled)))
	links := s.Links()
	links.EnsureCapacity(len(settled))
	for i := range settled {
		e := &settled[i]
		if !e.keep || e.spanID.IsEmpty() {
			continue
		}
		l := links.AppendEmpty()
		l.SetTraceID(e.traceID)
		l.SetSpanID(e.spanID)
		l.SetFlags(flagOf(e.remote))
		if t.set.PositionAttr != nil && e.hasPos {
			t.set.PositionAttr(l.Attributes(), e.pos)
		}
	}
}

func flagOf(remote bool) uint32 {
	if remote {
		return flagsRemote
	}
	return flagsLocal
}
