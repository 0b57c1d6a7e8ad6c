package consumers

import (
	"sort"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// entry is what the index keeps of one observed message: enough to date its
// settle and to parent its settle span. The identity is kept as its hash
// (settle span IDs are derived from it), never as a string.
type entry struct {
	pos     Position
	created int64 // unix nanoseconds
	idHash  uint64
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	keep    bool
	remote  bool
	hasPos  bool // false for Settled messages, which come without one
}

// entryBytes is what one tracked message costs, counted against
// max_tracked_bytes.
const entryBytes = int64(unsafe.Sizeof(entry{}))

// checkpoint samples a message that left the index (settled by every group,
// or evicted by the byte cap): settles and lags beyond the index are
// interpolated between checkpoints.
type checkpoint struct {
	pos     Position
	created int64
	ord     uint64
}

// maxCheckpoints bounds the checkpoints of one partition; the oldest go first.
const maxCheckpoints = 64

// partition is the index of one destination/partition: its observed
// messages in position order, each numbered by an ordinal (the count of
// messages observed before it), and the state of the groups settling it.
// Every field is guarded by the Tracker's partition lock (mu).
type partition struct {
	dest, part string

	entries []entry
	head    int    // entries[head:] are live
	base    uint64 // ordinal of entries[head]

	checkpoints []checkpoint // ascending ord; a ring of maxCheckpoints
	stride      uint64       // ordinals between checkpoints

	observed    bool
	lastPos     Position // newest observed, tracked or not
	lastCreated int64

	groups map[string]*groupState
}

func (p *partition) live() []entry { return p.entries[p.head:] }

// end is the ordinal the next observed message gets.
func (p *partition) end() uint64 { return p.base + uint64(len(p.entries)-p.head) }

// last returns the newest tracked position.
func (p *partition) last() (Position, bool) {
	if len(p.entries) == p.head {
		return Position{}, false
	}
	return p.entries[len(p.entries)-1].pos, true
}

// push appends e; the caller checked that e.pos is after last().
func (p *partition) push(e entry) {
	if p.head > 0 && p.head >= len(p.entries)/2 && len(p.entries) == cap(p.entries) {
		// Reuse the dropped front instead of growing: the index stays at
		// about the size of its live part.
		n := copy(p.entries, p.entries[p.head:])
		clear(p.entries[n:])
		p.entries, p.head = p.entries[:n], 0
	}
	p.entries = append(p.entries, e)
}

// drop forgets the n oldest live entries, sampling them as checkpoints.
func (p *partition) drop(n int) {
	live := p.live()
	n = min(n, len(live))
	if n == 0 {
		return
	}
	stride := max(p.stride, 1)
	next := p.base
	if k := len(p.checkpoints); k > 0 {
		next = p.checkpoints[k-1].ord + stride
	}
	for next < p.base+uint64(n) {
		if next >= p.base {
			e := &live[next-p.base]
			if len(p.checkpoints) == maxCheckpoints {
				copy(p.checkpoints, p.checkpoints[1:])
				p.checkpoints = p.checkpoints[:maxCheckpoints-1]
			}
			p.checkpoints = append(p.checkpoints, checkpoint{pos: e.pos, created: e.created, ord: next})
		} else {
			next = p.base
			continue
		}
		next += stride
	}
	clear(live[:n])
	p.head += n
	p.base += uint64(n)
	if p.head == len(p.entries) {
		p.entries, p.head = p.entries[:0], 0
	}
}

// ordinalOf returns the ordinal of the first message at or after pos, and
// its creation time (0 when no observed message is at or after pos). exact
// is false when that message left the index and the answer was
// interpolated between checkpoints (or clamped to the oldest one).
func (p *partition) ordinalOf(pos Position) (ord uint64, created int64, exact bool) {
	live := p.live()
	i := sort.Search(len(live), func(i int) bool { return !live[i].pos.Less(pos) })
	switch {
	case i == len(live) && (!p.observed || !pos.Less(p.lastPos.Next())):
		return p.end(), 0, true // nothing observed at or after pos
	case i < len(live) && (i > 0 || pos == live[0].pos || p.base == 0):
		return p.base + uint64(i), live[i].created, true
	case len(p.checkpoints) == 0:
		if i < len(live) {
			return p.base, live[0].created, false
		}
		return p.end(), 0, false
	}
	// The message left the index: interpolate between the checkpoints, the
	// first live entry (or the end) closing the last interval.
	cps := p.checkpoints
	j := sort.Search(len(cps), func(j int) bool { return !cps[j].pos.Less(pos) })
	if j == 0 {
		return cps[0].ord, cps[0].created, cps[0].pos == pos
	}
	if j < len(cps) && cps[j].pos == pos {
		return cps[j].ord, cps[j].created, true
	}
	lo := cps[j-1]
	var hi checkpoint
	switch {
	case j < len(cps):
		hi = cps[j]
	case len(live) > 0:
		hi = checkpoint{pos: live[0].pos, created: live[0].created, ord: p.base}
	default:
		hi = checkpoint{pos: p.lastPos.Next(), created: p.lastCreated, ord: p.end()}
	}
	// Linear in position between the two samples: Kafka offsets and
	// JetStream sequences are dense, so this is exact up to compaction
	// gaps; Redis IDs interpolate on their millisecond part.
	frac := 1.0
	if hi.pos.Hi > lo.pos.Hi {
		frac = float64(pos.Hi-lo.pos.Hi) / float64(hi.pos.Hi-lo.pos.Hi)
	}
	ord = lo.ord + uint64(frac*float64(hi.ord-lo.ord))
	ord = min(max(ord, lo.ord+1), hi.ord)
	created = lo.created + int64(frac*float64(hi.created-lo.created))
	return ord, created, false
}

// createdAt returns the creation time of the message with ordinal ord,
// interpolated when it left the index; 0 when it is not observed yet.
func (p *partition) createdAt(ord uint64) int64 {
	if ord >= p.end() {
		return 0
	}
	live := p.live()
	if ord >= p.base {
		return live[ord-p.base].created
	}
	hi := checkpoint{ord: p.end(), created: p.lastCreated}
	if len(live) > 0 {
		hi = checkpoint{ord: p.base, created: live[0].created}
	}
	cps := p.checkpoints
	j := sort.Search(len(cps), func(j int) bool { return cps[j].ord >= ord })
	switch {
	case j < len(cps) && cps[j].ord == ord:
		return cps[j].created
	case j == 0 && len(cps) > 0:
		return cps[0].created
	case j == 0:
		return hi.created
	case j < len(cps):
		hi = cps[j]
	}
	lo := cps[j-1]
	frac := float64(ord-lo.ord) / float64(hi.ord-lo.ord)
	return lo.created + int64(frac*float64(hi.created-lo.created))
}
