package harness

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
)

// GroupAssignment is a consumer group as the broker's coordinator describes
// it: its state and the partitions of one topic that each member holds.
type GroupAssignment struct {
	// State is the group's state: Stable, PreparingRebalance, Empty, ...
	State string
	// Partitions holds, by the client ID the member advertised, the sorted
	// partitions it was assigned. Members sharing a client ID are merged.
	Partitions map[string][]int32
}

// DescribeGroup returns the group's state and who holds which partition of
// topic, so a test can see replicas of one group split a topic's partitions.
func (k *Kafka) DescribeGroup(ctx context.Context, group, topic string) (GroupAssignment, error) {
	groups, err := kadm.NewClient(k.producer).DescribeGroups(ctx, group)
	if err != nil {
		return GroupAssignment{}, fmt.Errorf("describe group %q: %w", group, err)
	}
	g, ok := groups[group]
	if !ok {
		return GroupAssignment{}, fmt.Errorf("describe group %q: not in the response", group)
	}
	if g.Err != nil {
		return GroupAssignment{}, fmt.Errorf("describe group %q: %w", group, g.Err)
	}
	out := GroupAssignment{State: g.State, Partitions: map[string][]int32{}}
	for _, m := range g.Members {
		parts := out.Partitions[m.ClientID]
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				if t.Topic == topic {
					parts = append(parts, t.Partitions...)
				}
			}
		}
		slices.Sort(parts)
		out.Partitions[m.ClientID] = parts
	}
	return out, nil
}
