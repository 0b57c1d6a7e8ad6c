package redissource

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// healthCheck is how long a quiet Pub/Sub connection waits before a PING
// proves it is still there (a dead peer otherwise goes unnoticed).
const healthCheck = 30 * time.Second

type source struct {
	cfg  *Config
	set  message.Settings
	log  *zap.Logger
	host string
	port int

	// clientName is set with CLIENT SETNAME, so operators (and tests) can
	// find the tap's connections in CLIENT LIST.
	clientName string
	// tapSession and tapSeq name Pub/Sub observations of messages without an id.
	tapSession string
	tapSeq     atomic.Uint64

	bg message.Background
}

// New returns the Redis source for cfg, which must be valid.
func New(cfg *Config, set message.Settings) (message.Source, error) {
	host, p, err := net.SplitHostPort(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("redis: endpoint: %w", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, fmt.Errorf("redis: endpoint port %q: %w", p, err)
	}
	return &source{
		cfg:        cfg,
		set:        set,
		log:        set.Logger,
		host:       host,
		port:       port,
		clientName: "otelcol-msg-msgtrace",
		tapSession: rand.Text(),
	}, nil
}

// Start connects in the background and returns at once.
func (s *source) Start(_ context.Context, host component.Host) error {
	opts, err := s.options()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	ctx := s.bg.Start()
	client := redis.NewClient(opts)
	var ps *redis.PubSub
	if len(s.cfg.Channels) > 0 || len(s.cfg.Patterns) > 0 {
		ps = client.Subscribe(ctx) // no channel yet: connects on the first SUBSCRIBE
		s.bg.Go(func() {
			s.runPubSub(ctx, host, ps)
		})
	}
	if len(s.cfg.Streams) > 0 {
		s.bg.Go(func() {
			s.runStreams(ctx, host, client)
		})
	}
	// Closing the connections interrupts blocking reads (XREAD BLOCK,
	// Pub/Sub), which do not watch the context.
	s.bg.Go(func() {
		<-ctx.Done()
		if ps != nil {
			_ = ps.Close()
		}
		_ = client.Close()
	})
	return nil
}

// Shutdown stops the tap and waits for it, at most until ctx ends.
func (s *source) Shutdown(ctx context.Context) error {
	return s.bg.Stop(ctx, "redis")
}

func (s *source) options() (*redis.Options, error) {
	opts := &redis.Options{
		Addr:        s.cfg.Endpoint,
		ClientName:  s.clientName,
		Username:    s.cfg.Username,
		Password:    string(s.cfg.Password),
		DB:          s.cfg.DB,
		DialTimeout: s.cfg.ConnectTimeout,
		// The source retries with its own backoff and logs each failure.
		MaxRetries: -1,
		// XREAD BLOCK holds a connection for Block; reads wait that long
		// more than a normal command.
		ReadTimeout: 5 * time.Second,
		PoolSize:    2,
		// Cloud maintenance notifications need a server that has them.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if s.cfg.TLS != nil {
		tlsCfg, err := s.cfg.TLS.LoadTLSConfig(context.Background())
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		if tlsCfg == nil { // a tls block with insecure: true still asks for TLS here
			tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts.TLSConfig = tlsCfg
	}
	return opts, nil
}

func (s *source) tapName() string {
	return s.tapSession + "-" + strconv.FormatUint(s.tapSeq.Add(1), 10)
}

// runPubSub subscribes and delivers until ctx ends. A Pub/Sub message is
// pushed once to the subscribers connected at that moment: what is
// published while the tap reconnects is not seen.
func (s *source) runPubSub(ctx context.Context, host component.Host, ps *redis.PubSub) {
	in := make(chan *redis.Message, s.cfg.MaxBatchSize)
	s.bg.Go(func() {
		s.deliverPubSubLoop(ctx, in)
	})

	b := s.cfg.Reconnect.NewBackOff()
	for ctx.Err() == nil {
		err := s.subscribe(ctx, ps)
		if err == nil {
			b.Reset()
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
			s.log.Info("Redis Pub/Sub tap subscribed", zap.String("endpoint", s.cfg.Endpoint),
				zap.Strings("channels", s.cfg.Channels), zap.Strings("patterns", s.cfg.Patterns))
			err = s.receive(ctx, ps, in)
		}
		if ctx.Err() != nil {
			return
		}
		componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("redis: %w", err)))
		wait := b.NextBackOff()
		s.log.Warn("Redis Pub/Sub tap interrupted; reconnecting", zap.String("endpoint", s.cfg.Endpoint), zap.Error(err), zap.Duration("retry_in", wait))
		if !message.Sleep(ctx, wait) {
			return
		}
	}
}

// subscribe issues SUBSCRIBE and PSUBSCRIBE. After a broken connection
// go-redis dials again and resubscribes by itself on the next read; doing
// it here as well only repeats a harmless confirmation.
func (s *source) subscribe(ctx context.Context, ps *redis.PubSub) error {
	if len(s.cfg.Channels) > 0 {
		if err := ps.Subscribe(ctx, s.cfg.Channels...); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	if len(s.cfg.Patterns) > 0 {
		if err := ps.PSubscribe(ctx, s.cfg.Patterns...); err != nil {
			return fmt.Errorf("psubscribe: %w", err)
		}
	}
	return nil
}

// receive reads Pub/Sub messages into in until the connection fails. A
// quiet connection is checked with PING every healthCheck.
func (s *source) receive(ctx context.Context, ps *redis.PubSub, in chan<- *redis.Message) error {
	for {
		v, err := ps.ReceiveTimeout(ctx, healthCheck)
		if err != nil {
			var nerr net.Error
			if errors.As(err, &nerr) && nerr.Timeout() {
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("health check: %w", err)
				}
				continue
			}
			return err
		}
		switch m := v.(type) {
		case *redis.Message:
			select {
			case in <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		case *redis.Subscription:
			s.log.Debug("Redis Pub/Sub subscribed", zap.String("kind", m.Kind), zap.String("channel", m.Channel))
		}
	}
}

// deliverPubSubLoop delivers Pub/Sub messages in batches of what has
// already arrived, up to max_batch_size, one Deliver call per channel.
func (s *source) deliverPubSubLoop(ctx context.Context, in <-chan *redis.Message) {
	batch := make([]*redis.Message, 0, s.cfg.MaxBatchSize)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-in:
			batch = append(batch[:0], m)
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case m := <-in:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		if err := s.deliverPubSub(ctx, batch); err != nil {
			return
		}
	}
}

func (s *source) deliverPubSub(ctx context.Context, batch []*redis.Message) error {
	now := time.Now()
	msgs := make([]message.Message, 0, len(batch))
	for _, m := range batch {
		msg, faults := fromPubSub(m, s.tapName())
		s.report(ctx, msg, faults)
		msg.Observed, msg.ServerAddress, msg.ServerPort = now, s.host, s.port
		msgs = append(msgs, msg)
	}
	for _, group := range message.GroupByDestination(msgs) {
		if err := s.set.Deliver(ctx, group); err != nil {
			return err
		}
	}
	return nil
}

func (s *source) report(ctx context.Context, m message.Message, faults []fault) {
	for _, f := range faults {
		s.set.Telemetry.Fault(ctx, System, f.kind)
		s.log.Debug("Redis message with a wire fault", zap.String("kind", f.kind),
			zap.String("destination", m.Destination), zap.String("identity", m.Identity), zap.Error(f.err))
	}
}

// runStreams reads every configured stream with XREAD from its start ID,
// keeping the last entry delivered per stream, so that a reconnect goes on
// exactly after it. XREAD reads without a consumer group: nothing is
// claimed, acknowledged or removed.
func (s *source) runStreams(ctx context.Context, host component.Host, client *redis.Client) {
	b := s.cfg.Reconnect.NewBackOff()
	last := make(map[string]string, len(s.cfg.Streams))
	for ctx.Err() == nil {
		err := s.resolveStarts(ctx, client, last)
		if err == nil {
			b.Reset()
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
			s.log.Info("Redis Streams tap reading", zap.String("endpoint", s.cfg.Endpoint), zap.Any("after", last))
			err = s.readStreams(ctx, client, last)
		}
		if ctx.Err() != nil {
			return
		}
		componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("redis: %w", err)))
		wait := b.NextBackOff()
		s.log.Warn("Redis Streams tap interrupted; reconnecting", zap.String("endpoint", s.cfg.Endpoint), zap.Error(err), zap.Duration("retry_in", wait))
		if !message.Sleep(ctx, wait) {
			return
		}
	}
}

// resolveStarts turns start IDs into entry IDs once: "$" becomes the
// stream's last generated ID, so entries added while the tap reconnects
// are still read (XREAD with "$" again would skip them).
func (s *source) resolveStarts(ctx context.Context, client *redis.Client, last map[string]string) error {
	for _, st := range s.cfg.Streams {
		if _, ok := last[st.Name]; ok {
			continue
		}
		switch st.StartID {
		case "", StartNew:
			info, err := client.XInfoStream(ctx, st.Name).Result()
			switch {
			case err == nil:
				last[st.Name] = info.LastGeneratedID
			case strings.Contains(err.Error(), "no such key"):
				last[st.Name] = "0-0" // created later: every entry is new
			default:
				return fmt.Errorf("xinfo stream %s: %w", st.Name, err)
			}
		default:
			last[st.Name] = st.StartID
		}
	}
	return nil
}

func (s *source) readStreams(ctx context.Context, client *redis.Client, last map[string]string) error {
	args := make([]string, 2*len(s.cfg.Streams))
	for {
		for i, st := range s.cfg.Streams {
			args[i] = st.Name
			args[len(s.cfg.Streams)+i] = last[st.Name]
		}
		res, err := client.XRead(ctx, &redis.XReadArgs{Streams: args, Count: int64(s.cfg.MaxBatchSize), Block: s.cfg.Block}).Result()
		if errors.Is(err, redis.Nil) {
			continue // nothing new within block
		}
		if err != nil {
			return fmt.Errorf("xread: %w", err)
		}
		for _, st := range res {
			if len(st.Messages) == 0 {
				continue
			}
			if err := s.deliverStream(ctx, st); err != nil {
				return err
			}
			last[st.Stream] = st.Messages[len(st.Messages)-1].ID
		}
	}
}

func (s *source) deliverStream(ctx context.Context, st redis.XStream) error {
	now := time.Now()
	msgs := make([]message.Message, 0, len(st.Messages))
	for i := range st.Messages {
		msg, faults := fromStream(s.cfg.DB, st.Stream, &st.Messages[i])
		s.report(ctx, msg, faults)
		msg.Observed, msg.ServerAddress, msg.ServerPort = now, s.host, s.port
		msgs = append(msgs, msg)
	}
	return s.set.Deliver(ctx, msgs)
}
