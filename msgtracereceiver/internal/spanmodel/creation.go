package spanmodel

import (
	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Creation returns the creation context m's receive span refers to, for
// spans built outside Build (settle spans): the producer's span from the
// traceparent, or the rebuilt send span, with Build's sampling decision. It
// follows origin without its fault counting and baggage parsing, which Build
// already did for the message; TestCreationMatchesBuild keeps them in step.
func (b *Builder) Creation(m *message.Message) message.Creation {
	if m.TraceParent != "" {
		if pc, err := traceparent.Parse(m.TraceParent); err == nil {
			if !pc.Sampled() {
				return message.Creation{}
			}
			if b.opts.Rebuild == RebuildAlways {
				return message.Creation{TraceID: pc.TraceID, SpanID: SendSpanID(m.Identity), Keep: true}
			}
			return message.Creation{TraceID: pc.TraceID, SpanID: pc.SpanID, Remote: true, Keep: true}
		}
	}
	t := SendTraceID(m.Identity)
	if !sampledByRatio(t, b.bound) {
		return message.Creation{}
	}
	c := message.Creation{TraceID: t, Keep: true}
	if b.opts.Rebuild != RebuildNever {
		c.SpanID = SendSpanID(m.Identity)
	}
	return c
}
