package message

// GroupByDestination splits messages read together (one poll of a tap that
// covers several destinations) into one group per destination, keeping
// first-seen order, so that each Deliver call, and each batch span, covers
// one destination as the receiver's contract asks.
func GroupByDestination(msgs []Message) [][]Message {
	if len(msgs) == 0 {
		return nil
	}
	index := make(map[string]int, 1)
	var groups [][]Message
	for _, m := range msgs {
		i, ok := index[m.Destination]
		if !ok {
			i = len(groups)
			index[m.Destination] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], m)
	}
	return groups
}
