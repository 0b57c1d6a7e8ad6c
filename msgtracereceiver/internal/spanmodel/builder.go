// Package spanmodel turns observed messages into messaging spans (DESIGN
// §4.2): rebuilt `send <destination>` PRODUCER spans for messages that carry
// no trace context, and `receive <destination>` CLIENT spans, one per message
// or one per batch with a link per message, with semconv 1.44.0 attributes.
package spanmodel // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// SchemaURL is the semconv version of the spans. otel v1.44.0 ships semconv
// constants up to v1.41.0; the messaging attributes used here are the same
// in 1.41.0 and 1.44.0.
const SchemaURL = "https://opentelemetry.io/schemas/1.44.0"

// Span flags (OTLP): the W3C sampled bit, and whether the parent or linked
// context is known to be remote (bits 8 and 9).
const (
	flagSampled     = 0x01
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
	flagsLocal      = flagSampled | flagHasIsRemote
	flagsRemote     = flagSampled | flagHasIsRemote | flagIsRemote
	baggagePrefix   = "baggage."
)

// Options configure a Builder.
type Options struct {
	Rebuild     Rebuild
	Receive     Receive
	Correlation Correlation
	// SamplingRatio keeps this share of the traces the builder starts itself
	// (messages without context), by trace ID.
	SamplingRatio float64
	// ServiceName is the service.name resource attribute of the spans.
	ServiceName string
	// ScopeName and ScopeVersion name the instrumentation scope.
	ScopeName    string
	ScopeVersion string
	// Logger receives a debug line per wire fault; nil disables them.
	Logger *zap.Logger
}

// Faults counts what was wrong with the messages' wire data. Every message
// still yields its spans.
type Faults struct {
	TraceParent int // malformed traceparent: treated as no context
	TraceState  int // malformed tracestate: dropped, the traceparent stands
	Baggage     int // baggage with skipped or dropped members
	Timestamp   int // not after 1970 or later than observed: observed time used
	Header      int // a message whose destination, IDs or string attributes are not UTF-8: invalid bytes replaced (repairUTF8)
}

// Each calls fn for every kind with a non-zero count, with the kind's name
// as recorded in the receiver's fault metric.
func (f Faults) Each(fn func(kind string, n int)) {
	for _, k := range [...]struct {
		kind string
		n    int
	}{{"traceparent", f.TraceParent}, {"tracestate", f.TraceState}, {"baggage", f.Baggage}, {"timestamp", f.Timestamp}, {"header", f.Header}} {
		if k.n > 0 {
			fn(k.kind, k.n)
		}
	}
}

// Builder builds spans. It holds no mutable state and is safe for
// concurrent use.
type Builder struct {
	opts   Options
	bound  uint64
	logger *zap.Logger
}

// New returns a Builder.
func New(opts Options) *Builder {
	l := opts.Logger
	if l == nil {
		l = zap.NewNop()
	}
	return &Builder{opts: opts, bound: ratioBound(opts.SamplingRatio), logger: l}
}

// origin is what the builder decided for one message: whether it yields
// spans, and the creation context its receive span refers to.
type origin struct {
	keep bool
	// rebuild: emit a `send` span with traceID/spanID (and sendParent, the
	// producer's span, when the message had a context).
	rebuild    bool
	sendParent pcommon.SpanID
	// The creation context; spanID is empty when there is none
	// (rebuild: never and no traceparent).
	traceID    pcommon.TraceID
	spanID     pcommon.SpanID
	traceState string
	remote     bool
	start      pcommon.Timestamp
	end        pcommon.Timestamp
	baggage    []baggage.Member
	// id and conversationID are the message's (repairUTF8 made them valid).
	id, conversationID string
}

// Build turns msgs into spans under one resource and scope. A message whose
// traceparent says sampled=0, or whose rebuilt trace is not sampled, yields
// no span. The result is the same for the same messages, IDs included.
func (b *Builder) Build(msgs []message.Message) (ptrace.Traces, Faults) {
	var faults Faults
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if b.opts.ServiceName != "" {
		rs.Resource().Attributes().PutStr(string(semconv.ServiceNameKey), b.opts.ServiceName)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.SetSchemaUrl(SchemaURL)
	ss.Scope().SetName(b.opts.ScopeName)
	ss.Scope().SetVersion(b.opts.ScopeVersion)
	spans := ss.Spans()

	msgs = b.repairUTF8(msgs, &faults)
	var per perDest
	if b.opts.Receive == ReceiveBatch {
		b.buildBatches(spans, msgs, &faults, &per)
	} else {
		spans.EnsureCapacity(len(msgs))
		for i := range msgs {
			m := &msgs[i]
			o := b.origin(m, &faults)
			if !o.keep {
				continue
			}
			if o.rebuild {
				b.appendSend(spans, m, &o, &per)
			}
			b.appendReceive(spans, m, &o, &per)
		}
	}
	return td, faults
}

func (b *Builder) origin(m *message.Message, f *Faults) origin {
	var o origin
	observed := m.Observed
	if observed.IsZero() {
		observed = time.Now()
	}
	start := m.Timestamp
	switch {
	case start.IsZero():
		// The broker has no timestamp for this message (NATS core, Redis
		// Pub/Sub): not a fault, the observation is all there is.
		start = observed
	case start.Unix() <= 0 || start.After(observed):
		f.Timestamp++
		b.debug("message timestamp unusable (clock skew or invalid), using the observed time", m,
			zap.Time("timestamp", m.Timestamp), zap.Time("observed", observed))
		start = observed
	}
	o.start, o.end = pcommon.NewTimestampFromTime(start), pcommon.NewTimestampFromTime(observed)
	o.id, o.conversationID = m.ID, m.ConversationID // made valid UTF-8 by repairUTF8

	var (
		pc     traceparent.Context
		hasCtx bool
	)
	if m.TraceParent != "" {
		var err error
		if pc, err = traceparent.Parse(m.TraceParent); err != nil {
			f.TraceParent++
			b.debug("malformed traceparent, treated as no context", m, zap.Error(err))
		} else {
			hasCtx = true
		}
	}
	switch {
	case hasCtx && !pc.Sampled():
		return origin{start: o.start, end: o.end} // the producer did not record: neither do we.
	case hasCtx:
		o.keep, o.remote = true, true
		o.traceID, o.spanID = pc.TraceID, pc.SpanID
		if m.TraceState != "" {
			ts, err := traceparent.ParseTraceState(m.TraceState)
			if err != nil {
				f.TraceState++
				b.debug("malformed tracestate, dropped", m, zap.Error(err))
			}
			o.traceState = ts
		}
		if b.opts.Rebuild == RebuildAlways {
			o.rebuild, o.remote = true, false
			o.sendParent, o.spanID = pc.SpanID, SendSpanID(m.Identity)
		}
	default:
		t := SendTraceID(m.Identity)
		if !sampledByRatio(t, b.bound) {
			return origin{start: o.start, end: o.end}
		}
		o.keep = true
		if b.opts.Rebuild != RebuildNever {
			o.rebuild = true
			o.traceID, o.spanID = t, SendSpanID(m.Identity)
		}
	}
	if m.Baggage != "" {
		members, bf := baggage.Parse(m.Baggage, baggage.DefaultOptions)
		if bf.Any() {
			f.Baggage++
			b.debug("baggage header with faults, well-formed members kept", m,
				zap.Int("malformed", bf.Malformed), zap.Int("bad_encoding", bf.BadEncoding),
				zap.Int("member_too_long", bf.MemberTooLong), zap.Int("too_many_members", bf.TooManyMembers),
				zap.Bool("truncated", bf.Truncated))
		}
		o.baggage = members
	}
	return o
}

func (b *Builder) debug(msg string, m *message.Message, fields ...zap.Field) {
	if ce := b.logger.Check(zap.DebugLevel, msg); ce != nil {
		ce.Write(append(fields, zap.String("messaging.system", m.System), zap.String("identity", m.Identity))...)
	}
}

// appendSend adds the rebuilt creation span: a zero-length PRODUCER span at
// the message's timestamp.
func (b *Builder) appendSend(spans ptrace.SpanSlice, m *message.Message, o *origin, per *perDest) {
	s := spans.AppendEmpty()
	s.SetTraceID(o.traceID)
	s.SetSpanID(o.spanID)
	if !o.sendParent.IsEmpty() {
		s.SetParentSpanID(o.sendParent)
		s.TraceState().FromRaw(o.traceState)
		s.SetFlags(flagsRemote)
	} else {
		s.SetFlags(flagsLocal)
	}
	shared := per.sendOf(m)
	s.SetName(shared.name)
	s.SetKind(ptrace.SpanKindProducer)
	s.SetStartTimestamp(o.start)
	s.SetEndTimestamp(o.start)
	attrs := s.Attributes()
	attrs.EnsureCapacity(shared.attrs.Len() + messageAttrs(m))
	shared.attrs.CopyTo(attrs)
	putMessage(attrs, m, o)
}

// appendReceive adds the per-message receive span.
func (b *Builder) appendReceive(spans ptrace.SpanSlice, m *message.Message, o *origin, per *perDest) {
	s := spans.AppendEmpty()
	s.SetSpanID(ReceiveSpanID(m.ConsumerGroup, m.Identity))
	hasCreation := !o.spanID.IsEmpty()
	if hasCreation && b.opts.Correlation == CorrelationParent {
		s.SetTraceID(o.traceID)
		s.SetParentSpanID(o.spanID)
		s.TraceState().FromRaw(o.traceState)
		s.SetFlags(flags(o.remote))
	} else {
		s.SetTraceID(ReceiveTraceID(m.ConsumerGroup, m.Identity))
		s.SetFlags(flagsLocal)
		if hasCreation {
			appendLink(s.Links(), o)
		}
	}
	shared := per.receiveOf(m)
	s.SetName(shared.name)
	s.SetKind(ptrace.SpanKindClient)
	s.SetStartTimestamp(o.start)
	s.SetEndTimestamp(o.end)
	attrs := s.Attributes()
	attrs.EnsureCapacity(shared.attrs.Len() + messageAttrs(m) + len(o.baggage))
	shared.attrs.CopyTo(attrs)
	putMessage(attrs, m, o)
	putBaggage(attrs, o.baggage)
}

// buildBatches adds one receive span per destination/partition of msgs,
// linked to each kept message's creation context.
func (b *Builder) buildBatches(spans ptrace.SpanSlice, msgs []message.Message, f *Faults, per *perDest) {
	origins := make([]origin, len(msgs))
	for i := range msgs {
		origins[i] = b.origin(&msgs[i], f)
	}
	for _, g := range groupByDestination(msgs) {
		first, last := &msgs[g[0]], &msgs[g[len(g)-1]]
		kept := 0
		start, end := origins[g[0]].start, origins[g[0]].end
		for _, i := range g {
			o := &origins[i]
			if o.keep {
				kept++
			}
			start, end = min(start, o.start), max(end, o.end)
		}
		if kept == 0 {
			continue
		}
		s := spans.AppendEmpty()
		s.SetTraceID(BatchTraceID(first.ConsumerGroup, first.Identity, last.Identity))
		s.SetSpanID(BatchSpanID(first.ConsumerGroup, first.Identity, last.Identity))
		s.SetFlags(flagsLocal)
		shared := per.receiveOf(first)
		s.SetName(shared.name)
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(start)
		s.SetEndTimestamp(end)
		attrs := s.Attributes()
		attrs.EnsureCapacity(shared.attrs.Len() + 1)
		shared.attrs.CopyTo(attrs)
		attrs.PutInt(string(semconv.MessagingBatchMessageCountKey), int64(len(g)))
		links := s.Links()
		links.EnsureCapacity(kept)
		for _, i := range g {
			o := &origins[i]
			if !o.keep || o.spanID.IsEmpty() {
				continue
			}
			l := appendLink(links, o)
			la := l.Attributes()
			la.EnsureCapacity(messageAttrs(&msgs[i]) + len(o.baggage))
			putMessage(la, &msgs[i], o)
			putBaggage(la, o.baggage)
		}
		for _, i := range g {
			if o := &origins[i]; o.keep && o.rebuild {
				b.appendSend(spans, &msgs[i], o, per)
			}
		}
	}
}

// groupByDestination returns the indexes of msgs per system, destination,
// partition and consumer group, groups and members in first-seen order. A
// source usually delivers one group; the loop stays linear then.
func groupByDestination(msgs []message.Message) [][]int {
	var groups [][]int
next:
	for i := range msgs {
		m := &msgs[i]
		for gi, g := range groups {
			h := &msgs[g[0]]
			if h.System == m.System && h.Destination == m.Destination && h.Partition == m.Partition && h.ConsumerGroup == m.ConsumerGroup {
				groups[gi] = append(g, i)
				continue next
			}
		}
		g := make([]int, 1, len(msgs)-i)
		g[0] = i
		groups = append(groups, g)
	}
	return groups
}

func appendLink(links ptrace.SpanLinkSlice, o *origin) ptrace.SpanLink {
	l := links.AppendEmpty()
	l.SetTraceID(o.traceID)
	l.SetSpanID(o.spanID)
	l.TraceState().FromRaw(o.traceState)
	l.SetFlags(flags(o.remote))
	return l
}

func flags(remote bool) uint32 {
	if remote {
		return flagsRemote
	}
	return flagsLocal
}

// perDest remembers, for the last destination seen, what its send and its
// receive spans share: the span name and the attributes that say where and
// how the message was seen. The messages of one delivery share a
// destination, so these are built once per delivery; each span copies the
// attributes (pcommon.Map.CopyTo) instead of putting them one by one, which
// would look every key up in the map first.
type perDest struct {
	send, receive destTemplate
}

// sendOf returns what the rebuilt send spans of m's destination share.
func (d *perDest) sendOf(m *message.Message) *destTemplate {
	return d.send.get(m, semconv.MessagingOperationTypeSend, "send", false)
}

// receiveOf returns what the receive spans of m's destination share,
// messaging.consumer.group.name included.
func (d *perDest) receiveOf(m *message.Message) *destTemplate {
	return d.receive.get(m, semconv.MessagingOperationTypeReceive, "receive", true)
}

// destTemplate is the span name and destination attributes of one kind of
// span, for the message fields they come from.
type destTemplate struct {
	system, dest, partition, group, address string
	port                                    int
	ok                                      bool
	name                                    string
	attrs                                   pcommon.Map
}

// get returns the template for m, rebuilding it when m's destination differs
// from the last one's.
func (t *destTemplate) get(m *message.Message, opType attribute.KeyValue, opName string, withGroup bool) *destTemplate {
	if t.ok && t.system == m.System && t.dest == m.Destination && t.partition == m.Partition &&
		t.group == m.ConsumerGroup && t.address == m.ServerAddress && t.port == m.ServerPort {
		return t
	}
	*t = destTemplate{system: m.System, dest: m.Destination, partition: m.Partition, group: m.ConsumerGroup,
		address: m.ServerAddress, port: m.ServerPort, ok: true, name: opName + " " + m.Destination, attrs: pcommon.NewMap()}
	t.attrs.EnsureCapacity(destinationAttrs(m) + 1)
	putDestination(t.attrs, m, opType, opName)
	if withGroup && m.ConsumerGroup != "" {
		t.attrs.PutStr(string(semconv.MessagingConsumerGroupNameKey), m.ConsumerGroup)
	}
	return t
}
