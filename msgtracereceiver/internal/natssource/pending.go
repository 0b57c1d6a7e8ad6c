package natssource

import (
	"context"
	"sync"
)

// recordOverhead approximates what a queued record costs beyond its
// strings: the record itself, its header map and slices.
const recordOverhead = 256

// pendingQueue holds observed core messages between the subscriptions and
// the delivery loop, already reduced to records (the payload is not kept,
// only its size), and bounded in messages and in bytes. Core NATS has no
// flow control: when either bound is reached the newest message is dropped
// and counted, the rule nats.go itself follows for a slow consumer; the
// messages already queued are delivered.
type pendingQueue struct {
	maxMsgs, maxBytes int

	mu      sync.Mutex
	items   []record
	head    int
	bytes   int
	dropped uint64
	// ready has a token while items is not empty.
	ready chan struct{}
}

func newPendingQueue(maxMsgs, maxBytes int) *pendingQueue {
	return &pendingQueue{maxMsgs: maxMsgs, maxBytes: maxBytes, ready: make(chan struct{}, 1)}
}

// cost is what r counts against the byte bound.
func cost(r *record) int {
	n := recordOverhead + len(r.subject)
	for k, vs := range r.header {
		n += len(k) + 16*len(vs)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// push queues r, or drops it when a bound would be exceeded; it reports
// whether r was queued. It never blocks: it runs in the client's dispatch.
func (q *pendingQueue) push(r record) bool {
	c := cost(&r)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.len() >= q.maxMsgs || q.bytes+c > q.maxBytes {
		q.dropped++
		return false
	}
	r.cost = c
	q.items = append(q.items, r)
	q.bytes += c
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// pop returns the oldest record, waiting for one until ctx ends.
func (q *pendingQueue) pop(ctx context.Context) (record, bool) {
	for {
		q.mu.Lock()
		if q.len() > 0 {
			r := q.items[q.head]
			q.items[q.head] = record{} // let the header map go
			q.head++
			q.bytes -= r.cost
			if q.head == len(q.items) { // empty: reuse the backing array from the start
				q.items, q.head = q.items[:0], 0
			} else if q.head > 1024 && q.head > len(q.items)/2 {
				q.items, q.head = append(q.items[:0], q.items[q.head:]...), 0
			}
			more := q.len() > 0
			q.mu.Unlock()
			if more {
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			return r, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return record{}, false
		case <-q.ready:
		}
	}
}

func (q *pendingQueue) len() int { return len(q.items) - q.head }

// stats returns what is queued and how many messages were dropped so far.
func (q *pendingQueue) stats() (msgs, bytes int, dropped uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.len(), q.bytes, q.dropped
}
