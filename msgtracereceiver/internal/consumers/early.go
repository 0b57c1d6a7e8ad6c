package consumers

import (
	"slices"
	"sort"
)

// maxEarlySettles bounds, per group and partition, the messages settled by
// SettledAt that the group's frontier has not passed yet (8 bytes each,
// counted against max_tracked_bytes). They are dropped once the frontier
// passes them; beyond the bound, SettledAt is ignored until it moves, and
// those messages are dated by the poll as without it.
const maxEarlySettles = 1024

// earlyBytes is what one early settle costs.
const earlyBytes = 8

// addEarly records ord as settled ahead of the frontier. It reports false
// for an ordinal already there or when the group holds maxEarlySettles.
func (g *groupState) addEarly(ord uint64) bool {
	i, found := slices.BinarySearch(g.early, ord)
	if found || len(g.early) >= maxEarlySettles {
		return false
	}
	g.early = slices.Insert(g.early, i, ord)
	return true
}

// isEarly reports whether ord was settled ahead of the frontier.
func (g *groupState) isEarly(ord uint64) bool {
	_, found := slices.BinarySearch(g.early, ord)
	return found
}

// earlyBefore counts the early settles before ord.
func (g *groupState) earlyBefore(ord uint64) uint64 {
	return uint64(sort.Search(len(g.early), func(i int) bool { return g.early[i] >= ord }))
}

// pruneEarly forgets the early settles the frontier has passed and returns
// how many it forgot.
func (g *groupState) pruneEarly() int {
	n := int(g.earlyBefore(g.next))
	if n > 0 {
		g.early = slices.Delete(g.early, 0, n)
	}
	return n
}
