package natssource

import (
	"sort"
	"sync"
	"sync/atomic"
)

// maxSeqSubjects bounds, per stream, the stream sequences whose subject the
// watcher remembers for ack advisories (24 bytes each): an advisory names
// a message by sequence only, and the consumers index is kept by subject.
// An advisory for an older message is not used; its floor dates it.
const maxSeqSubjects = 1 << 16

// seqSubject is one observed message of a stream.
type seqSubject struct {
	seq     uint64
	subject string // the streamSubjects copy: one per subject, not per message
}

// seqSubjects remembers the subjects of a stream's latest observed
// messages, in sequence order, while a watched consumer of the stream
// samples its acks.
type seqSubjects struct {
	sampling atomic.Bool

	mu   sync.Mutex
	ring []seqSubject // up to maxSeqSubjects; ring[head] is the oldest once full
	head int
}

// setSampling starts or stops remembering; stopping forgets.
func (ss *seqSubjects) setSampling(on bool) {
	if ss.sampling.Swap(on) == on || on {
		return
	}
	ss.mu.Lock()
	ss.ring, ss.head = nil, 0
	ss.mu.Unlock()
}

// add remembers the subject of seq. Sequences come in order from the
// stream's reader; one at or before the newest (a durable's redelivery) is
// not remembered.
func (ss *seqSubjects) add(seq uint64, subject string) {
	if !ss.sampling.Load() {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if n := len(ss.ring); n > 0 && ss.at(n-1).seq >= seq {
		return
	}
	if len(ss.ring) < maxSeqSubjects {
		ss.ring = append(ss.ring, seqSubject{seq, subject})
		return
	}
	ss.ring[ss.head] = seqSubject{seq, subject}
	ss.head = (ss.head + 1) % len(ss.ring)
}

// subjectOf returns the subject of the message at seq, if remembered.
func (ss *seqSubjects) subjectOf(seq uint64) (string, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := len(ss.ring)
	i := sort.Search(n, func(i int) bool { return ss.at(i).seq >= seq })
	if i == n || ss.at(i).seq != seq {
		return "", false
	}
	return ss.at(i).subject, true
}

// at is the i-th oldest remembered message.
func (ss *seqSubjects) at(i int) seqSubject {
	return ss.ring[(ss.head+i)%len(ss.ring)]
}
