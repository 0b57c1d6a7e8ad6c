package baggage

// Conflict says which value a key keeps when several sources carry it.
type Conflict int

const (
	// LastWins is FastStream's get_all(): the later message overrides.
	LastWins Conflict = iota
	// FirstWins keeps the first value seen.
	FirstWins
)

// Merge folds lists of members, in order, into one list with unique keys.
// Keys keep the position of their first appearance so that output is stable.
func Merge(on Conflict, lists ...[]Member) []Member {
	var out []Member
	index := make(map[string]int)
	for _, l := range lists {
		for _, m := range l {
			i, seen := index[m.Key]
			switch {
			case !seen:
				index[m.Key] = len(out)
				out = append(out, m)
			case on == LastWins:
				out[i] = m
			}
		}
	}
	return out
}
