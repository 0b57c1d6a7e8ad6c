package consumers

import "time"

// groupState is what the tracker knows of one group on one partition.
type groupState struct {
	seen bool
	// perMessage: the group settles through Settled only; it holds nothing
	// in the index.
	perMessage bool

	frontier Position // as last polled: first position not settled
	high     Position // highest frontier seen: settles are emitted once
	baseline Position // the first frontier seen: what is before was settled earlier
	next     uint64   // ordinal of the first message not yet settled
	// stuckNext is the ordinal of the first message not yet counted stuck.
	stuckNext uint64
	lastPoll  int64 // unix nanoseconds
	// early are the ordinals, ascending and from next on, of the messages
	// SettledAt dated before the frontier passed them (early.go).
	early []uint64

	// anchor: the first message at or after frontier, kept while the
	// frontier stays, so a stopped group's lag stays exact after the
	// message left the index.
	anchorOK      bool
	anchorOrd     uint64
	anchorCreated int64

	hist        histogram
	stuck       int64
	untracked   int64
	lagMessages int64
	lagAge      float64
}

func (p *partition) group(name string) *groupState {
	g := p.groups[name]
	if g == nil {
		g = &groupState{}
		p.groups[name] = g
	}
	return g
}

// setAnchor finds the first message at or after the frontier.
func (g *groupState) setAnchor(p *partition) {
	ord, created, _ := p.ordinalOf(g.frontier)
	g.anchorOrd, g.anchorCreated = ord, created
	g.anchorOK = ord < p.end()
}

// updateLag sets the lag gauges: observed messages at or after the frontier,
// and the age of the oldest of them.
func (g *groupState) updateLag(p *partition, now int64) {
	if !g.anchorOK {
		g.setAnchor(p) // the group was ahead of the tap: maybe no longer
	}
	if !g.anchorOK {
		g.lagMessages, g.lagAge = 0, 0
		return
	}
	// Messages dated by SettledAt are settled, though still at or after
	// the frontier.
	g.lagMessages = int64(p.end() - g.anchorOrd - (uint64(len(g.early)) - g.earlyBefore(g.anchorOrd)))
	g.lagAge = seconds(now - g.anchorCreated)
}

// countStuck counts the messages from stuckNext on that are older than
// stuckAfter and still not settled. Creation times are about in position
// order, so the scan stops at the first message that is not stuck yet.
func (g *groupState) countStuck(p *partition, now int64, stuckAfter time.Duration) {
	if g.stuckNext < g.next {
		g.stuckNext = g.next
	}
	if g.stuckNext < p.base {
		// Left the index unsettled before it was stuck: it shows in the
		// lag gauges, not in this count.
		g.stuckNext = p.base
	}
	limit := now - stuckAfter.Nanoseconds()
	live := p.live()
	for i := int(g.stuckNext - p.base); i < len(live) && live[i].created <= limit; i++ {
		if len(g.early) == 0 || !g.isEarly(g.stuckNext) {
			g.stuck++
		}
		g.stuckNext++
	}
}
