package kafkasource

import (
	"fmt"
	"maps"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// layout is the partition count of each tapped topic. A change of it (a
// topic that appears or goes, partitions added) makes the tap rejoin its
// group with the new set.
type layout map[string]int

// layoutOf reads the partition counts of topics from the client's metadata
// (refreshed by Source.topics just before).
func layoutOf(client sarama.Client, topics []string) layout {
	l := make(layout, len(topics))
	for _, t := range topics {
		ps, err := client.Partitions(t)
		if err != nil {
			continue // gone meanwhile: the next refresh sees it
		}
		l[t] = len(ps)
	}
	return l
}

func (l layout) equal(o layout) bool { return maps.Equal(l, o) }

// existed reports whether partition p of topic was there when the tap first
// read the cluster's topics. Partitions IDs are dense and never removed, so
// the count at first start tells.
func (l layout) existed(topic string, p int32) bool {
	return int(p) < l[topic]
}

// startOffsets decides, for each claimed partition without a committed
// offset, where the tap starts, and commits that offset at once:
//
//   - a partition that existed when the tap first read the cluster starts
//     at initial_offset;
//   - a partition first seen later (a new topic, a regex match, partitions
//     added to a topic) starts at its oldest offset whatever initial_offset
//     says: it was created while the tap was watching, so everything in it
//     is news, and `latest` would skip what was written before the tap's
//     next rejoin noticed it.
//
// Committing the resolved offset at once pins it: a later rejoin, another
// replica taking the partition over, or a restart resumes there instead of
// re-resolving `latest` and skipping what came in between.
//
// sarama starts a claim with no committed offset at Consumer.Offsets.Initial
// and offers no per-partition choice, so this runs in Setup, after sarama
// fetched the committed offsets and before it starts the claims: only the
// member that owns the partition in this generation may commit for it.
func (h *handler) startOffsets(sess sarama.ConsumerGroupSession) error {
	claims := sess.Claims()
	if len(claims) == 0 {
		return nil
	}
	committed, err := h.committedOffsets(claims)
	if err != nil {
		return fmt.Errorf("kafka: reading the committed offsets of group %q: %w", h.src.cfg.GroupID, err)
	}
	marked := false
	for topic, partitions := range claims {
		for _, p := range partitions {
			if off, ok := committed[topicPartition{topic, p}]; ok && off >= 0 {
				continue
			}
			at, why := h.src.initialOffset, "initial_offset"
			if known := h.src.known; known != nil && !known.existed(topic, p) {
				at, why = sarama.OffsetOldest, "new since the tap started"
			}
			off, err := h.client.GetOffset(topic, p, at)
			if err != nil {
				return fmt.Errorf("kafka: resolving the start offset of %s/%d: %w", topic, p, err)
			}
			sess.MarkOffset(topic, p, off, "")
			marked = true
			h.src.logger.Debug("kafka partition without a committed offset", zap.String("topic", topic),
				zap.Int32("partition", p), zap.Int64("start_offset", off), zap.String("because", why))
		}
	}
	if marked {
		sess.Commit()
	}
	return nil
}

type topicPartition struct {
	topic     string
	partition int32
}

// committedOffsets fetches the group's committed offsets of claims from its
// coordinator; -1 (or no entry) means none.
func (h *handler) committedOffsets(claims map[string][]int32) (map[topicPartition]int64, error) {
	coordinator, err := h.client.Coordinator(h.src.cfg.GroupID)
	if err != nil {
		return nil, err
	}
	resp, err := coordinator.FetchOffset(sarama.NewOffsetFetchRequest(h.client.Config().Version, h.src.cfg.GroupID, claims))
	if err != nil {
		return nil, err
	}
	out := make(map[topicPartition]int64)
	for topic, partitions := range claims {
		for _, p := range partitions {
			block := resp.GetBlock(topic, p)
			switch {
			case block == nil && resp.Err != sarama.ErrNoError:
				return nil, resp.Err
			case block == nil:
				return nil, sarama.ErrIncompleteResponse
			case block.Err != sarama.ErrNoError:
				return nil, block.Err
			}
			out[topicPartition{topic, p}] = block.Offset
		}
	}
	return out, nil
}
