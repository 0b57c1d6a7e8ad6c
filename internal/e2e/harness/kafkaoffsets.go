package harness

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Offsets are offsets by topic and partition.
type Offsets map[string]map[int32]int64

// CommittedOffsets returns the offsets the consumer group has committed: the
// next offset it will read in each partition it committed for.
func (k *Kafka) CommittedOffsets(ctx context.Context, group string) (Offsets, error) {
	resps, err := kadm.NewClient(k.producer).FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of group %q: %w", group, err)
	}
	if err := resps.Error(); err != nil {
		return nil, fmt.Errorf("fetch committed offsets of group %q: %w", group, err)
	}
	out := Offsets{}
	resps.Each(func(r kadm.OffsetResponse) {
		if out[r.Topic] == nil {
			out[r.Topic] = map[int32]int64{}
		}
		out[r.Topic][r.Partition] = r.At
	})
	return out, nil
}

// EndOffsets returns the offset the next record produced to each partition
// of the topics will get.
func (k *Kafka) EndOffsets(ctx context.Context, topics ...string) (Offsets, error) {
	ends, err := kadm.NewClient(k.producer).ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %v: %w", topics, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("list end offsets of %v: %w", topics, err)
	}
	out := Offsets{}
	ends.Each(func(o kadm.ListedOffset) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, nil
}
