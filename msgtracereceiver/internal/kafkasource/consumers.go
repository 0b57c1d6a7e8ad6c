package kafkasource

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/collector/pdata/pcommon"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// settleOperation is messaging.operation.name of Kafka settle spans: what
// the tap sees is an offset commit.
const settleOperation = "commit"

// newTracker returns the consumers tracker of a block with consumers
// enabled, nil otherwise.
func newTracker(cfg *Config, set message.Settings) (*consumers.Tracker, error) {
	if !cfg.Consumers.Enabled {
		return nil, nil
	}
	return consumers.New(consumers.Settings{
		System:        System,
		OperationName: settleOperation,
		Config:        cfg.Consumers,
		OwnGroup:      cfg.GroupID,
		Source:        set,
		PositionAttr: func(attrs pcommon.Map, pos consumers.Position) {
			attrs.PutInt(string(semconv.MessagingKafkaOffsetKey), int64(pos.Hi))
		},
	})
}

// observe hands a batch to the tracker before it is delivered (the batch's
// strings die with Deliver). A record's offset is its messaging.kafka.offset.
func (s *Source) observe(msgs []message.Message) {
	if s.tracker == nil {
		return
	}
	for i := range msgs {
		if off, ok := kafkaOffset(&msgs[i]); ok {
			s.tracker.Observe(msgs[i], consumers.Position{Hi: uint64(off)})
		}
	}
}

func kafkaOffset(m *message.Message) (int64, bool) {
	for _, kv := range m.Attributes {
		if kv.Key == semconv.MessagingKafkaOffsetKey {
			return kv.Value.AsInt64(), true
		}
	}
	return 0, false
}

// watchConsumers polls, every consumers.poll_interval until ctx ends, the
// committed offsets of the watched application groups on the tapped
// topics, through the admin API of the source's client (ListGroups,
// OffsetFetch). It returns at once when consumers are not enabled.
func (s *Source) watchConsumers(ctx context.Context, client sarama.Client) {
	if s.tracker == nil {
		return
	}
	// The admin shares the client and is never closed: closing it would
	// close the client, which the source closes itself.
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		s.logger.Warn("kafka consumers: cannot create the admin client; settles are not watched", zap.Error(err))
		return
	}
	w := &consumerWatcher{src: s, client: client, admin: admin, known: map[string]struct{}{},
		baselined: map[string]bool{}, described: map[string]time.Time{}, announced: map[string]bool{}}
	consumers.Poll(ctx, s.cfg.Consumers.PollInterval, w.poll)
}

// consumerWatcher is the state of watchConsumers between polls.
type consumerWatcher struct {
	src    *Source
	client sarama.Client
	admin  sarama.ClusterAdmin
	// groups are the watched groups as last listed, refreshed every
	// topic_refresh_interval (listing every group of a cluster at each poll
	// would cost more than the offsets).
	groups  []string
	listed  time.Time
	known   map[string]struct{}
	listErr bool
	// baselined: group/topic/partition the tracker has a frontier for;
	// described: when a group was last described for its assignments.
	baselined map[string]bool
	described map[string]time.Time
	// announced: groups whose first baseline was logged.
	announced map[string]bool
}

// baseline records that the tracker has a frontier for group g on
// topic/partition, and says once per group that its settles are now dated.
func (w *consumerWatcher) baseline(g, topic, part string) {
	w.baselined[g+"\x00"+topic+"\x00"+part] = true
	if !w.announced[g] {
		w.announced[g] = true
		w.src.logger.Info("kafka consumers: group watched", zap.String("group", g))
	}
}

func (w *consumerWatcher) poll(ctx context.Context) {
	tr := w.src.tracker
	if time.Since(w.listed) >= w.src.cfg.TopicRefreshInterval || w.groups == nil {
		w.refreshGroups()
	}
	topics, err := w.client.Topics()
	if err != nil {
		w.src.logger.Debug("kafka consumers: listing topics", zap.Error(err))
		return
	}
	tapped, _ := w.src.matcher.match(topics)
	parts := make(map[string][]int32, len(tapped))
	for _, topic := range tapped {
		if ps, err := w.client.Partitions(topic); err == nil {
			parts[topic] = ps
		}
	}
	if len(parts) == 0 {
		return
	}
	for _, g := range w.groups {
		if ctx.Err() != nil {
			return
		}
		resp, err := w.admin.ListConsumerGroupOffsets(g, parts)
		if err != nil {
			w.src.logger.Debug("kafka consumers: fetching committed offsets", zap.String("group", g), zap.Error(err))
			continue
		}
		at := time.Now()
		uncommitted := false
		for topic, blocks := range resp.Blocks {
			for p, b := range blocks {
				if b == nil || b.Err != sarama.ErrNoError {
					continue
				}
				part := strconv.FormatInt(int64(p), 10)
				if b.Offset < 0 {
					// -1: nothing committed there; the group may not consume
					// this partition at all, or not have committed yet.
					if !w.baselined[g+"\x00"+topic+"\x00"+part] {
						uncommitted = true
					}
					continue
				}
				w.baseline(g, topic, part)
				tr.Frontier(g, topic, part, consumers.Position{Hi: uint64(b.Offset)}, at)
			}
		}
		if uncommitted {
			w.baselineAssigned(g, resp, at)
		}
	}
	tr.Flush(ctx, time.Now())
}

// baselineAssigned starts a group that has not committed yet at offset 0 on
// the tapped partitions its members are assigned (DescribeGroups), so that
// its first commit already settles what the tap observed. Partitions it is
// not assigned stay unwatched. Described at most once per
// topic_refresh_interval per group.
func (w *consumerWatcher) baselineAssigned(g string, resp *sarama.OffsetFetchResponse, at time.Time) {
	if time.Since(w.described[g]) < w.src.cfg.TopicRefreshInterval {
		return
	}
	descs, err := w.admin.DescribeConsumerGroups([]string{g})
	if err != nil || len(descs) == 0 {
		w.src.logger.Debug("kafka consumers: describing group", zap.String("group", g), zap.Error(err))
		return
	}
	// A group still empty or joining (members without an assignment yet) is
	// described again at the next poll, so that its first commit is not
	// taken for its baseline.
	assigned := false
	for _, member := range descs[0].Members {
		a, err := member.GetMemberAssignment()
		if err != nil || a == nil || len(a.Topics) == 0 {
			continue
		}
		assigned = true
		for topic, ps := range a.Topics {
			for _, p := range ps {
				part := strconv.FormatInt(int64(p), 10)
				key := g + "\x00" + topic + "\x00" + part
				if b := resp.GetBlock(topic, p); b == nil || b.Offset >= 0 || w.baselined[key] {
					continue
				}
				w.baseline(g, topic, part)
				w.src.tracker.Frontier(g, topic, part, consumers.Position{}, at)
			}
		}
	}
	if assigned {
		w.described[g] = time.Now()
	}
}

// refreshGroups lists the cluster's consumer groups (or takes the named
// ones) and forgets the watched groups that are gone.
func (w *consumerWatcher) refreshGroups() {
	w.listed = time.Now()
	tr := w.src.tracker
	var groups []string
	if tr.Matcher().OnlyNames() {
		groups = tr.Matcher().Names()
	} else {
		all, err := w.admin.ListConsumerGroups()
		if err != nil {
			if !w.listErr {
				w.src.logger.Warn("kafka consumers: cannot list consumer groups (ACL DESCRIBE on the cluster?)", zap.Error(err))
			}
			w.listErr = true
			return
		}
		w.listErr = false
		for g, protocol := range all {
			// Only groups of the consumer protocol commit offsets; connect
			// workers and others have their own.
			if (protocol == "" || protocol == "consumer") && tr.Watched(g) {
				groups = append(groups, g)
			}
		}
	}
	slices.Sort(groups)
	now := make(map[string]struct{}, len(groups))
	for _, g := range groups {
		now[g] = struct{}{}
	}
	for g := range w.known {
		if _, ok := now[g]; !ok {
			tr.Forget(g)
			for k := range w.baselined {
				if strings.HasPrefix(k, g+"\x00") {
					delete(w.baselined, k)
				}
			}
			delete(w.described, g)
			delete(w.announced, g)
		}
	}
	if !slices.Equal(groups, w.groups) {
		w.src.logger.Info("kafka consumers: watching groups", zap.Strings("groups", groups))
	}
	w.groups, w.known = groups, now
	if w.groups == nil {
		w.groups = []string{}
	}
}
