// Package kafkasource taps Kafka topics for the msgtrace receiver through a
// sarama consumer group of its own, and turns records into message.Messages.
package kafkasource // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/kafkasource"

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/cenkalti/backoff/v7"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// System is the messaging.system of the source.
const System = "kafka"

// Source taps Kafka. It implements message.Source.
type Source struct {
	cfg     *Config
	set     message.Settings
	matcher *topicMatcher
	logger  *zap.Logger
	// initialOffset is sarama's form of initial_offset.
	initialOffset int64
	// known is the layout of the tapped topics when the tap first read the
	// cluster's metadata; partitions outside it start at their oldest
	// offset (startOffsets). Set once by run before the first session.
	known layout
	// tracker follows the application groups' settles (consumers.go); nil
	// unless consumers.enabled.
	tracker *consumers.Tracker

	cancel context.CancelFunc
	done   chan struct{}
}

var _ message.Source = (*Source)(nil)

// New returns a Source for a validated block.
func New(cfg *Config, set message.Settings) (*Source, error) {
	m, err := newTopicMatcher(cfg.Topics)
	if err != nil {
		return nil, fmt.Errorf("kafka topics: %w", err)
	}
	initial := int64(sarama.OffsetNewest)
	if cfg.InitialOffset == OffsetEarliest {
		initial = sarama.OffsetOldest
	}
	tr, err := newTracker(cfg, set)
	if err != nil {
		return nil, fmt.Errorf("kafka consumers: %w", err)
	}
	return &Source{cfg: cfg, set: set, matcher: m, logger: set.Logger, initialOffset: initial, tracker: tr}, nil
}

// Start checks the client configuration and connects in the background: a
// cluster that is down is reported to the host and retried with backoff.
func (s *Source) Start(ctx context.Context, host component.Host) error {
	sc, err := NewSaramaConfig(ctx, s.cfg)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		s.run(runCtx, host, sc)
	}()
	return nil
}

// Shutdown leaves the group, committing the offsets of every delivered
// batch, and returns when all goroutines have ended or ctx is done.
func (s *Source) Shutdown(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka source shutdown: %w", ctx.Err())
	}
}

func (s *Source) run(ctx context.Context, host component.Host, sc *sarama.Config) {
	client, clusterID := s.connect(ctx, host, sc)
	if client == nil {
		return
	}
	defer func() {
		if err := client.Close(); err != nil {
			s.logger.Debug("closing kafka client", zap.Error(err))
		}
	}()
	group, err := sarama.NewConsumerGroupFromClient(s.cfg.GroupID, client)
	if err != nil {
		// Only a configuration sarama rejects gets here; it will not heal.
		s.logger.Error("cannot create kafka consumer group", zap.Error(err))
		componentstatus.ReportStatus(host, componentstatus.NewPermanentErrorEvent(err))
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for err := range group.Errors() {
			s.logger.Warn("kafka consumer group error", zap.Error(err))
		}
	})
	defer func() {
		// Close leaves the group and ends the Errors channel.
		if err := group.Close(); err != nil {
			s.logger.Debug("closing kafka consumer group", zap.Error(err))
		}
		wg.Wait()
	}()
	componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
	// The watcher ends (cancel runs before the deferred wg.Wait) before the client closes.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	wg.Go(func() { s.watchConsumers(watchCtx, client) })
	s.logger.Info("kafka source connected", zap.Strings("brokers", s.cfg.Brokers),
		zap.String("cluster", clusterID), zap.String("group_id", s.cfg.GroupID))

	h := &handler{src: s, client: client, clusterID: clusterID, host: host}
	retry := newBackOff()
	var lastTopics, lastMissing []string
	for ctx.Err() == nil {
		topics, missing, fresh := s.topics(client)
		if s.known == nil && fresh {
			s.known = layoutOf(client, topics)
		}
		if !slices.Equal(missing, lastMissing) && len(missing) > 0 {
			s.logger.Warn("configured kafka topics do not exist (yet)", zap.Strings("topics", missing))
		}
		lastMissing = missing
		if len(topics) == 0 {
			message.Sleep(ctx, s.cfg.TopicRefreshInterval)
			continue
		}
		if !slices.Equal(topics, lastTopics) {
			s.logger.Info("tapping kafka topics", zap.Strings("topics", topics))
			lastTopics = topics
		}
		err := s.consume(ctx, client, group, h, topics, layoutOf(client, topics))
		switch {
		case ctx.Err() != nil, errors.Is(err, sarama.ErrClosedConsumerGroup):
			return
		case err != nil:
			d := retry.NextBackOff()
			s.logger.Warn("kafka consumer group session failed, retrying", zap.Error(err), zap.Duration("backoff", d))
			componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(err))
			message.Sleep(ctx, d)
		default:
			retry.Reset()
		}
	}
}

// consume runs group sessions (sarama ends one at every rebalance) until the
// layout of the matching topics (which topics, how many partitions) changes
// or ctx ends. sarama cannot add topics to a running session, so a change
// takes a rejoin; the new partitions start at their oldest offset
// (startOffsets), so the time until the next refresh loses nothing.
func (s *Source) consume(ctx context.Context, client sarama.Client, group sarama.ConsumerGroup, h *handler, topics []string, at layout) error {
	// wg.Wait is deferred first so that it runs after cancel: the refresher
	// below ends only with sessCtx, also when Consume fails.
	var wg sync.WaitGroup
	defer wg.Wait()
	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		t := time.NewTicker(s.cfg.TopicRefreshInterval)
		defer t.Stop()
		for {
			select {
			case <-sessCtx.Done():
				return
			case <-t.C:
				now, _, fresh := s.topics(client)
				if !fresh {
					continue
				}
				if !slices.Equal(now, topics) || !layoutOf(client, now).equal(at) {
					s.logger.Info("kafka topics or partitions changed, rejoining the group", zap.Strings("topics", now))
					cancel()
					return
				}
			}
		}
	})
	for sessCtx.Err() == nil {
		if err := group.Consume(sessCtx, topics, h); err != nil {
			return err
		}
	}
	return nil
}

// topics refreshes the cluster's topic list and resolves the configuration;
// fresh is false when the refresh failed and the list may be stale.
func (s *Source) topics(client sarama.Client) (topics, missing []string, fresh bool) {
	fresh = true
	if err := client.RefreshMetadata(); err != nil {
		s.logger.Debug("refreshing kafka metadata", zap.Error(err))
		fresh = false
	}
	existing, err := client.Topics()
	if err != nil {
		s.logger.Debug("listing kafka topics", zap.Error(err))
		fresh = false
	}
	topics, missing = s.matcher.match(existing)
	return topics, missing, fresh
}

// connect opens a client, retrying with backoff while the cluster is
// unreachable; it returns nil when ctx ends first.
func (s *Source) connect(ctx context.Context, host component.Host, sc *sarama.Config) (sarama.Client, string) {
	retry := newBackOff()
	for {
		client, err := sarama.NewClient(s.cfg.Brokers, sc)
		if err == nil {
			id, idErr := clusterID(client, sc)
			if idErr == nil {
				return client, id
			}
			_ = client.Close()
			err = idErr
		}
		err = explainConnectError(sc, err)
		if ctx.Err() != nil {
			return nil, ""
		}
		d := retry.NextBackOff()
		s.logger.Warn("kafka cluster unreachable, retrying", zap.Strings("brokers", s.cfg.Brokers),
			zap.Error(err), zap.Duration("backoff", d))
		componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(kafkaError(err)))
		if !message.Sleep(ctx, d) {
			return nil, ""
		}
	}
}

// clusterID names the cluster in message identities. It is the broker's
// cluster ID (metadata v2+); brokers too old to have one are named by the
// sorted bootstrap list, which is stable across restarts as well.
func clusterID(client sarama.Client, sc *sarama.Config) (string, error) {
	b := client.LeastLoadedBroker()
	if b == nil {
		return "", errors.New("no broker available")
	}
	resp, err := b.GetMetadata(sarama.NewMetadataRequest(sc.Version, []string{}))
	if err != nil {
		return "", fmt.Errorf("reading cluster id: %w", err)
	}
	if resp.ClusterID != nil && *resp.ClusterID != "" {
		return *resp.ClusterID, nil
	}
	addrs := make([]string, 0, len(client.Brokers()))
	for _, br := range client.Brokers() {
		addrs = append(addrs, br.Addr())
	}
	sort.Strings(addrs)
	return strings.Join(addrs, ","), nil
}

func newBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 500 * time.Millisecond
	b.MaxInterval = 30 * time.Second
	return b
}

// kafkaError names Kafka as the origin of err for the health status, once:
// sarama's own errors already start with "kafka: ".
func kafkaError(err error) error {
	if strings.HasPrefix(err.Error(), "kafka: ") {
		return err
	}
	return fmt.Errorf("kafka: %w", err)
}
