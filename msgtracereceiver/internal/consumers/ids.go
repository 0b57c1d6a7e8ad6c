package consumers

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Settle span IDs are derived, like every span ID of the receiver, from the
// message's identity (its hash, kept in the index) and the group, so a
// settle seen twice (a restart) yields the same span.
const (
	domainSettleSpan    = "msgtrace/settle/span"
	domainSettleTrace   = "msgtrace/settle/trace-hi"
	domainSettleTraceLo = "msgtrace/settle/trace-lo"
	domainCommitSpan    = "msgtrace/commit/span"
	domainCommitTrace   = "msgtrace/commit/trace-hi"
	domainCommitTraceLo = "msgtrace/commit/trace-lo"
)

func sum64(domain string, group string, parts ...uint64) uint64 {
	var buf [256]byte
	b := append(buf[:0], domain...)
	b = append(b, 0)
	b = append(b, group...)
	for _, p := range parts {
		b = append(b, 0)
		b = binary.BigEndian.AppendUint64(b, p)
	}
	return xxhash.Sum64(b)
}

func newSpanID(v uint64) pcommon.SpanID {
	if v == 0 {
		v = 1
	}
	var s pcommon.SpanID
	binary.BigEndian.PutUint64(s[:], v)
	return s
}

func newTraceID(hi, lo uint64) pcommon.TraceID {
	var t pcommon.TraceID
	binary.BigEndian.PutUint64(t[:8], hi)
	binary.BigEndian.PutUint64(t[8:], lo)
	if t.IsEmpty() {
		t[15] = 1
	}
	return t
}

// settleSpanID is the ID of group's settle span of the message whose
// identity hashes to id.
func settleSpanID(group string, id uint64) pcommon.SpanID {
	return newSpanID(sum64(domainSettleSpan, group, id))
}

// settleTraceID is the trace of a settle span whose message has no creation span.
func settleTraceID(group string, id uint64) pcommon.TraceID {
	return newTraceID(sum64(domainSettleTrace, group, id), sum64(domainSettleTraceLo, group, id))
}

// commitIDs name the commit span of group over the messages from first to last.
func commitIDs(group string, first, last uint64) (pcommon.TraceID, pcommon.SpanID) {
	return newTraceID(sum64(domainCommitTrace, group, first, last), sum64(domainCommitTraceLo, group, first, last)),
		newSpanID(sum64(domainCommitSpan, group, first, last))
}
