package natssource

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

type source struct {
	cfg *Config
	set message.Settings
	log *zap.Logger

	// records carries observed messages from the subscriptions and the
	// stream readers to the one goroutine that delivers them.
	records chan record
	// core queues core messages, reduced to records, for forwardCore.
	core *pendingQueue
	// coreSubs are the live core subscriptions; tests read their counters.
	coreSubs atomic.Pointer[[]*nats.Subscription]
	// tapSession and tapSeq name observations of messages without an id.
	tapSession string
	tapSeq     atomic.Uint64
	// connName is advertised to the server (monitoring shows it).
	connName string
	// tracker dates the applications' acks (consumers.go); nil unless
	// consumers are enabled. subjects are the stream subjects it indexes.
	tracker  *consumers.Tracker
	subjects *streamSubjects
	// seqs are the subjects of each tapped stream's latest messages, for
	// its consumers' ack advisories (consumerwatch.go): one per configured
	// stream with a tracker, nil without.
	seqs map[string]*seqSubjects
	// advisoryDrops rate-limits the warning of dropped ack advisories.
	advisoryDrops every

	bg message.Background
}

// New returns the NATS source for cfg, which must be valid.
func New(cfg *Config, set message.Settings) (message.Source, error) {
	tracker, err := newTracker(cfg, set)
	if err != nil {
		return nil, fmt.Errorf("nats: consumers: %w", err)
	}
	var seqs map[string]*seqSubjects
	if tracker != nil {
		seqs = make(map[string]*seqSubjects, len(cfg.JetStream.Streams))
		for _, st := range cfg.JetStream.Streams {
			seqs[st.Name] = &seqSubjects{}
		}
	}
	return &source{
		cfg:           cfg,
		seqs:          seqs,
		set:           set,
		log:           set.Logger,
		records:       make(chan record, cfg.MaxBatchSize),
		core:          newPendingQueue(cfg.PendingLimit, cfg.PendingBytesLimit),
		tapSession:    rand.Text(),
		connName:      "otelcol-msg msgtrace",
		tracker:       tracker,
		subjects:      newStreamSubjects(set.Logger),
		advisoryDrops: every{interval: time.Minute},
	}, nil
}

// Start connects in the background and returns at once.
func (s *source) Start(_ context.Context, host component.Host) error {
	opts, err := s.options(host)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	ctx := s.bg.Start()
	s.bg.Go(func() {
		s.run(ctx, host, opts)
	})
	return nil
}

// Shutdown stops the tap and waits for it, at most until ctx ends.
func (s *source) Shutdown(ctx context.Context) error {
	return s.bg.Stop(ctx, "nats")
}

// options builds the client options. nats.go reconnects by itself (and
// resubscribes); the source only sets the backoff, logs the events and
// reports them as the component status.
func (s *source) options(host component.Host) ([]nats.Option, error) {
	b := s.cfg.Reconnect.NewBackOff()
	var mu sync.Mutex
	opts := []nats.Option{
		nats.Name(s.connName),
		nats.Timeout(s.cfg.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			if attempts <= 1 {
				b.Reset()
			}
			return b.NextBackOff()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				s.log.Warn("NATS tap disconnected; reconnecting", zap.Error(err))
				componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("nats: %w", err)))
			}
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			s.log.Info("NATS tap connected", zap.String("server", nc.ConnectedUrlRedacted()))
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			s.log.Info("NATS tap reconnected", zap.String("server", nc.ConnectedUrlRedacted()))
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
		}),
		nats.ErrorHandler(s.onAsyncError),
	}
	if s.checksWire() {
		opts = append(opts, nats.SetCustomDialer(limitDialer{timeout: s.cfg.ConnectTimeout, onLimit: s.countLimit}))
	}
	switch {
	case s.cfg.Username != "":
		opts = append(opts, nats.UserInfo(s.cfg.Username, string(s.cfg.Password)))
	case s.cfg.Token != "":
		opts = append(opts, nats.Token(string(s.cfg.Token)))
	case s.cfg.CredentialsFile != "":
		opts = append(opts, nats.UserCredentials(s.cfg.CredentialsFile))
	}
	// tls:// servers without a block: nats.go dials TLS with the system's CAs.
	tlsCfg, err := clienttls.Load(context.Background(), s.cfg.TLS, false)
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		opts = append(opts, nats.Secure(tlsCfg))
	}
	return opts, nil
}

// onAsyncError logs what the client reports asynchronously. A slow
// consumer is a subscription whose pending limits dropped messages: the
// tap's core messages, or the watcher's ack advisories, whose messages are
// then dated by the ack floor.
func (s *source) onAsyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	fields := []zap.Field{zap.Error(err)}
	if sub != nil {
		fields = append(fields, zap.String("subject", sub.Subject))
	}
	switch {
	case errors.Is(err, nats.ErrSlowConsumer) && sub != nil && strings.HasPrefix(sub.Subject, advisorySubjectPrefix):
		if s.advisoryDrops.allow(time.Now()) {
			fields = append(fields, zap.Int("pending_limit", advisoryPendingMsgs))
			s.log.Warn("NATS consumers: ack advisories dropped by the client; their messages are dated by the ack floor", fields...)
		}
	case errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `Subscription to "`+advisorySubjectPrefix):
		// The consumers watcher warns of it, with what the user needs.
		s.log.Debug("NATS asynchronous error", fields...)
	case errors.Is(err, nats.ErrSlowConsumer):
		fields = append(fields, zap.Int("pending_limit", s.cfg.PendingLimit))
		s.log.Warn("NATS tap is behind: core messages dropped by the client", fields...)
	default:
		s.log.Warn("NATS asynchronous error", fields...)
	}
}

// run connects, subscribes and delivers until ctx ends.
func (s *source) run(ctx context.Context, host component.Host, opts []nats.Option) {
	nc := s.connect(ctx, host, opts)
	if nc == nil {
		return
	}
	defer nc.Close()

	var readers sync.WaitGroup
	defer readers.Wait()
	subs, err := s.subscribe(ctx, nc)
	if err != nil {
		s.log.Error("NATS tap cannot subscribe", zap.Error(err))
	}
	defer func() {
		for _, sub := range subs {
			_ = sub.Unsubscribe()
		}
	}()
	if len(s.cfg.JetStream.Streams) > 0 {
		js, err := s.jetStream(nc)
		if err != nil {
			s.log.Error("NATS tap cannot use JetStream", zap.Error(err))
		} else {
			for _, st := range s.cfg.JetStream.Streams {
				readers.Add(1)
				go func() {
					defer readers.Done()
					s.readStream(ctx, js, st)
				}()
			}
			readers.Go(func() { s.watchConsumers(ctx, js) })
		}
	}
	s.deliverLoop(ctx, nc)
}

// connect returns a client, retrying while the options are rejected; with
// RetryOnFailedConnect an unreachable server is not an error: the client
// keeps trying in the background and subscriptions wait for it.
func (s *source) connect(ctx context.Context, host component.Host, opts []nats.Option) *nats.Conn {
	b := s.cfg.Reconnect.NewBackOff()
	for {
		nc, err := nats.Connect(strings.Join(s.cfg.Servers, ","), opts...)
		if err == nil {
			if nc.IsConnected() {
				componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
			} else {
				s.log.Warn("NATS server not reachable yet; connecting in the background")
				componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(errors.New("nats: server not reachable yet")))
			}
			return nc
		}
		wait := b.NextBackOff()
		s.log.Warn("NATS tap cannot connect; retrying", zap.Error(err), zap.Duration("retry_in", wait))
		componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("nats: %w", err)))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// subscribe starts the core subscriptions, without a queue group so the
// applications keep every message. Each message is reduced to a record in
// the client's dispatch and queued in core, bounded in messages and bytes;
// the client's own buffer of whole messages, which only fills while that
// dispatch is behind, is bounded by the same limits.
func (s *source) subscribe(ctx context.Context, nc *nats.Conn) ([]*nats.Subscription, error) {
	subs := make([]*nats.Subscription, 0, len(s.cfg.Subjects))
	for _, subject := range s.cfg.Subjects {
		sub, err := s.subscribeCore(nc, subject)
		if err != nil {
			return subs, fmt.Errorf("subscribe %s: %w", subject, err)
		}
		if err := sub.SetPendingLimits(s.cfg.PendingLimit, s.cfg.PendingBytesLimit); err != nil {
			return subs, fmt.Errorf("subscribe %s: pending limits: %w", subject, err)
		}
		subs = append(subs, sub)
	}
	if len(subs) > 0 {
		s.bg.Go(func() {
			s.forwardCore(ctx)
		})
		s.coreSubs.Store(&subs)
		s.bg.Go(func() {
			s.countDrops(ctx, subs)
		})
	}
	return subs, nil
}

// observeCore queues a core message. Inbox replies and system subjects
// ($JS, $SYS, ...) matched by a wildcard are not application messages:
// they are skipped (JetStream deliveries to inboxes would otherwise be
// seen twice).
func (s *source) observeCore(m *nats.Msg) {
	if strings.HasPrefix(m.Subject, "_INBOX.") || strings.HasPrefix(m.Subject, "$") {
		return
	}
	s.core.push(fromCore(m))
}

// forwardCore hands queued core records to the delivery loop.
func (s *source) forwardCore(ctx context.Context) {
	for {
		r, ok := s.core.pop(ctx)
		if !ok {
			return
		}
		select {
		case s.records <- r:
		case <-ctx.Done():
			return
		}
	}
}

// dropReport is how often dropped core messages are counted and logged.
const dropReport = time.Second

// countDrops counts the core messages dropped by the queue and by the
// client's buffers, and logs at most one warning per dropReport.
func (s *source) countDrops(ctx context.Context, subs []*nats.Subscription) {
	t := time.NewTicker(dropReport)
	defer t.Stop()
	var reported uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, _, total := s.core.stats()
		for _, sub := range subs {
			if n, err := sub.Dropped(); err == nil && n > 0 {
				total += uint64(n)
			}
		}
		if total <= reported {
			continue
		}
		n := total - reported
		reported = total
		s.set.Telemetry.Dropped(ctx, System, message.DropTapBehind, int64(n))
		msgs, bytes, _ := s.core.stats()
		s.log.Warn("NATS tap is behind: core messages dropped", zap.Uint64("dropped", n),
			zap.Int("queued", msgs), zap.Int("queued_bytes", bytes),
			zap.Int("pending_limit", s.cfg.PendingLimit), zap.Int("pending_bytes_limit", s.cfg.PendingBytesLimit))
	}
}

func (s *source) tapName() string {
	return s.tapSession + "-" + strconv.FormatUint(s.tapSeq.Add(1), 10)
}

func (s *source) jetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	if s.cfg.JetStream.Domain != "" {
		return jetstream.NewWithDomain(nc, s.cfg.JetStream.Domain)
	}
	return jetstream.New(nc)
}

// orderedConfig maps a stream block onto an ordered consumer: ephemeral,
// no acknowledgements, recreated by the client after a gap or reconnect
// from the last sequence it delivered.
func orderedConfig(st StreamConfig) jetstream.OrderedConsumerConfig {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: st.FilterSubjects,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		NamePrefix:     "otelcol-msgtrace",
	}
	switch st.DeliverPolicy {
	case DeliverAll:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case DeliverLast:
		cfg.DeliverPolicy = jetstream.DeliverLastPolicy
	case DeliverByStartTime:
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		t := st.StartTime
		cfg.OptStartTime = &t
	}
	return cfg
}

// readStream reads one stream through an ordered consumer until ctx ends,
// creating it again (from the last sequence seen) when it fails for good.
func (s *source) readStream(ctx context.Context, js jetstream.JetStream, st StreamConfig) {
	if st.Durable != "" {
		s.readDurable(ctx, js, st)
		return
	}
	b := s.cfg.Reconnect.NewBackOff()
	cfg := orderedConfig(st)
	for ctx.Err() == nil {
		last, err := s.readOrdered(ctx, js, st.Name, &cfg)
		if ctx.Err() != nil {
			return
		}
		if last > 0 {
			// Start again after what was seen, never from the policy again.
			cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = jetstream.DeliverByStartSequencePolicy, last+1, nil
			b.Reset()
		}
		wait := b.NextBackOff()
		s.log.Warn("NATS JetStream tap interrupted; retrying", zap.String("stream", st.Name), zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// readOrdered forwards the messages of one ordered consumer; it returns the
// last stream sequence forwarded (0 if none) and why it stopped.
func (s *source) readOrdered(ctx context.Context, js jetstream.JetStream, stream string, cfg *jetstream.OrderedConsumerConfig) (uint64, error) {
	if cfg.DeliverPolicy == jetstream.DeliverNewPolicy {
		// "New" is pinned to the stream's next sequence now: the client
		// recreates an ordered consumer that has delivered nothing yet with
		// its first config, and "new" again would skip what was stored
		// while it was disconnected.
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return 0, fmt.Errorf("stream info: %w", err)
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, st.CachedInfo().State.LastSeq+1
	}
	cons, err := js.OrderedConsumer(ctx, stream, *cfg)
	if err != nil {
		return 0, fmt.Errorf("create ordered consumer: %w", err)
	}
	// Bounded in bytes, not only in messages: the client pulls whole
	// messages ahead of the tap.
	it, err := cons.Messages(jetstream.PullMaxBytes(s.cfg.PendingBytesLimit))
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	defer it.Stop()
	var last uint64
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return last, err
		}
		r, err := fromJetStream(m, stream)
		if err != nil {
			s.set.Telemetry.Fault(ctx, System, faultMetadata)
			s.log.Debug("NATS JetStream message without metadata", zap.String("subject", r.subject), zap.Error(err))
		}
		select {
		case s.records <- r:
			if r.seq > 0 {
				last = r.seq
			}
		case <-ctx.Done():
			return last, ctx.Err()
		}
	}
}

// deliverLoop hands records to the pipeline in batches of what has arrived,
// up to max_batch_size, one Deliver call per subject.
func (s *source) deliverLoop(ctx context.Context, nc *nats.Conn) {
	batch := make([]record, 0, s.cfg.MaxBatchSize)
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.records:
			batch = append(batch[:0], r)
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case r := <-s.records:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if err := s.deliver(ctx, nc, batch); err != nil {
			return
		}
	}
}

func (s *source) deliver(ctx context.Context, nc *nats.Conn, batch []record) error {
	host, port := serverOf(nc)
	now := time.Now()
	msgs := make([]message.Message, 0, len(batch))
	lag := map[string]uint64{}
	for i := range batch {
		r := &batch[i]
		if r.seq == 0 {
			r.tap = s.tapName()
		}
		m, bad := r.toMessage(now, host, port)
		for _, key := range bad {
			s.set.Telemetry.Fault(ctx, System, faultHeader)
			s.log.Debug("NATS message with a repeated header", zap.String("header", key), zap.String("subject", r.subject))
		}
		if r.seq > 0 {
			lag[r.stream] = r.pending
		}
		s.observe(&m, r)
		msgs = append(msgs, m)
	}
	for _, group := range message.GroupByDestination(msgs) {
		if err := s.set.Deliver(ctx, group); err != nil {
			return err
		}
	}
	ackDelivered(s.log, batch)
	for stream, pending := range lag {
		s.set.Telemetry.Lag(ctx, System, stream, int64(min(pending, 1<<62)))
	}
	return nil
}

// serverOf names the server the client is connected to now (it may move
// within a cluster).
func serverOf(nc *nats.Conn) (string, int) {
	u, err := url.Parse(nc.ConnectedUrlRedacted())
	if err != nil || u.Host == "" {
		return "", 0
	}
	port, _ := strconv.Atoi(u.Port())
	return u.Hostname(), port
}
