package consumers

import "strconv"

// Position is an ordered position within one destination/partition:
//   - Kafka offset: Hi = offset;
//   - NATS JetStream stream sequence: Hi = sequence;
//   - Redis stream ID <ms>-<seq>: Hi = ms, Lo = seq.
type Position struct{ Hi, Lo uint64 }

// Less reports whether p comes before q.
func (p Position) Less(q Position) bool {
	return p.Hi < q.Hi || (p.Hi == q.Hi && p.Lo < q.Lo)
}

// Next returns the position right after p in Redis stream ID order (Lo
// first), for a last-delivered ID while Frontier takes the first unsettled
// one. Positions without a Lo part (Kafka offsets, JetStream sequences) step
// Hi instead: {Hi: n + 1}.
func (p Position) Next() Position {
	if p.Lo == ^uint64(0) {
		return Position{Hi: p.Hi + 1}
	}
	return Position{Hi: p.Hi, Lo: p.Lo + 1}
}

// String formats p as the broker would: Hi alone, or Hi-Lo.
func (p Position) String() string {
	if p.Lo == 0 {
		return strconv.FormatUint(p.Hi, 10)
	}
	return strconv.FormatUint(p.Hi, 10) + "-" + strconv.FormatUint(p.Lo, 10)
}
