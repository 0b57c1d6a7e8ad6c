package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// promoteToResource moves each promote_to_resource key from the spans of rs
// to its resource, but only when that cannot misattribute a span: every span
// of rs carries the key with the same value (after the policy), and the
// resource does not already carry a different value. Otherwise nothing
// moves, the spans keep their attributes, and a conflict is counted.
func (p *baggageProcessor) promoteToResource(st *state, rs ptrace.ResourceSpans) {
	res := rs.Resource().Attributes()
	for _, attrKey := range p.promote {
		value, carried, agree := agreedValue(rs.ScopeSpans(), attrKey)
		if !carried {
			continue
		}
		if agree {
			if cur, ok := res.Get(attrKey); ok && cur.AsString() != value {
				agree = false
			}
		}
		if !agree {
			st.counts.conflicts++
			// The key only: values can be personal data.
			if ce := p.telemetry.logger.Check(zapcore.DebugLevel, "baggage key not promoted: the spans of one resource disagree"); ce != nil {
				ce.Write(zap.String("attribute", attrKey))
			}
			continue
		}
		res.PutStr(attrKey, value)
		removeFromSpans(rs.ScopeSpans(), attrKey)
		st.counts.promoted++
	}
}

// agreedValue reports the value of attrKey on the spans of sss: carried when
// any span has it, agree when every span has it with the same value.
func agreedValue(sss ptrace.ScopeSpansSlice, attrKey string) (value string, carried, agree bool) {
	agree = true
	for i := 0; i < sss.Len(); i++ {
		spans := sss.At(i).Spans()
		for j := 0; j < spans.Len(); j++ {
			v, ok := spans.At(j).Attributes().Get(attrKey)
			if !ok {
				agree = false
				continue
			}
			s := v.AsString()
			if !carried {
				value, carried = s, true
			} else if s != value {
				agree = false
			}
		}
	}
	return value, carried, agree && carried
}

func removeFromSpans(sss ptrace.ScopeSpansSlice, attrKey string) {
	for i := 0; i < sss.Len(); i++ {
		spans := sss.At(i).Spans()
		for j := 0; j < spans.Len(); j++ {
			spans.At(j).Attributes().Remove(attrKey)
		}
	}
}
