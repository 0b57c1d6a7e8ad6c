package spanmodel

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// IDs are derived from a message's identity, never drawn at random, so a
// message that is read again (after a crash, a rebalance, a retry) yields
// spans with the same IDs and backends collapse the duplicates.
//
// Each ID is xxhash64 over a domain label, the consumer group and the
// identity, separated by NUL bytes; a trace ID is two such sums with
// different labels. xxhash is not cryptographic: the IDs are predictable from
// the identity, which is not secret, and unique enough (128 bits for trace
// IDs) to never collide by accident.
const (
	domainSendTrace    = "msgtrace/send/trace-hi"
	domainSendTraceLo  = "msgtrace/send/trace-lo"
	domainSendSpan     = "msgtrace/send/span"
	domainRecvTrace    = "msgtrace/receive/trace-hi"
	domainRecvTraceLo  = "msgtrace/receive/trace-lo"
	domainRecvSpan     = "msgtrace/receive/span"
	domainBatchTrace   = "msgtrace/batch/trace-hi"
	domainBatchTraceLo = "msgtrace/batch/trace-lo"
	domainBatchSpan    = "msgtrace/batch/span"
)

// sum64 hashes domain, then each part, with a NUL between them so that
// ("ab","c") and ("a","bc") differ. The input is laid out in a stack buffer
// and hashed in one call: a Digest fed piece by piece costs half again as
// much, and this runs for every span.
func sum64(domain string, parts ...string) uint64 {
	var buf [192]byte
	b := append(buf[:0], domain...)
	for _, p := range parts {
		b = append(b, 0)
		b = append(b, p...)
	}
	return xxhash.Sum64(b)
}

func traceID(hi, lo uint64) pcommon.TraceID {
	var t pcommon.TraceID
	binary.BigEndian.PutUint64(t[:8], hi)
	binary.BigEndian.PutUint64(t[8:], lo)
	if t.IsEmpty() { // all-zero IDs are invalid; astronomically unlikely.
		t[15] = 1
	}
	return t
}

func spanID(v uint64) pcommon.SpanID {
	if v == 0 {
		v = 1
	}
	var s pcommon.SpanID
	binary.BigEndian.PutUint64(s[:], v)
	return s
}

// SendTraceID is the trace ID of the span rebuilt for a message without context.
func SendTraceID(identity string) pcommon.TraceID {
	return traceID(sum64(domainSendTrace, identity), sum64(domainSendTraceLo, identity))
}

// SendSpanID is the span ID of the `send` span rebuilt for a message.
func SendSpanID(identity string) pcommon.SpanID {
	return spanID(sum64(domainSendSpan, identity))
}

// ReceiveTraceID is the trace ID of a per-message receive span that starts
// its own trace (correlation: link, or no creation context).
func ReceiveTraceID(group, identity string) pcommon.TraceID {
	return traceID(sum64(domainRecvTrace, group, identity), sum64(domainRecvTraceLo, group, identity))
}

// ReceiveSpanID is the span ID of a per-message receive span. The consumer
// group takes part so that two taps of one message emit distinct spans.
func ReceiveSpanID(group, identity string) pcommon.SpanID {
	return spanID(sum64(domainRecvSpan, group, identity))
}

// BatchTraceID is the trace ID of a batch receive span, from the identities
// of the batch's first and last messages.
func BatchTraceID(group, first, last string) pcommon.TraceID {
	return traceID(sum64(domainBatchTrace, group, first, last), sum64(domainBatchTraceLo, group, first, last))
}

// BatchSpanID is the span ID of a batch receive span.
func BatchSpanID(group, first, last string) pcommon.SpanID {
	return spanID(sum64(domainBatchSpan, group, first, last))
}

// sampledByRatio applies the trace-ID ratio rule of the OpenTelemetry SDKs'
// TraceIDRatioBased sampler to the lower 8 bytes of the trace ID, so a
// rebuilt trace is kept or dropped the same way every time it is rebuilt.
func sampledByRatio(t pcommon.TraceID, bound uint64) bool {
	return binary.BigEndian.Uint64(t[8:16])>>1 < bound
}

// ratioBound turns a ratio into the bound sampledByRatio compares with.
func ratioBound(ratio float64) uint64 {
	switch {
	case ratio >= 1:
		return 1 << 63
	case ratio <= 0:
		return 0
	}
	return uint64(ratio * (1 << 63))
}
