package natssource

import (
	"sync/atomic"
	"time"
)

// every lets an event through at most once per interval: it rate-limits
// warnings that would otherwise repeat at every poll or message.
type every struct {
	interval time.Duration
	last     atomic.Int64 // unix nanoseconds of the last one let through; 0: none yet
}

// allow reports whether an event at now is let through.
func (e *every) allow(now time.Time) bool {
	last := e.last.Load()
	if last != 0 && now.UnixNano()-last < e.interval.Nanoseconds() {
		return false
	}
	return e.last.CompareAndSwap(last, now.UnixNano())
}
