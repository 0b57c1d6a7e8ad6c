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

	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

type source struct {
	cfg  *Config
	set  message.Settings
	log  *zap.Logger
	host string
	port int
	// tls is the client TLS config; nil for plaintext.
	tls *tls.Config
	// healthCheck is how often a Pub/Sub connection sends PING, so that a
	// dead peer is noticed on a quiet connection.
	healthCheck time.Duration
	// ioTimeout bounds one write, and one reply to a command that does not
	// block; XREAD BLOCK waits that long more than its block.
	ioTimeout time.Duration

	// clientName is set with CLIENT SETNAME, so operators (and tests) can
	// find the tap's connections in CLIENT LIST.
	clientName string
	// tapSession and tapSeq name Pub/Sub observations of messages without an id.
	tapSession string
	tapSeq     atomic.Uint64
	// tracker dates the applications' settles (consumers.go); nil unless
	// consumers are enabled.
	tracker *consumers.Tracker

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
	tracker, err := newTracker(cfg, set)
	if err != nil {
		return nil, fmt.Errorf("redis: consumers: %w", err)
	}
	return &source{
		tracker:     tracker,
		cfg:         cfg,
		set:         set,
		log:         set.Logger,
		host:        host,
		port:        port,
		clientName:  "otelcol-msg-msgtrace",
		tapSession:  rand.Text(),
		healthCheck: 30 * time.Second,
		ioTimeout:   5 * time.Second,
	}, nil
}

// Start connects in the background and returns at once.
func (s *source) Start(_ context.Context, host component.Host) error {
	tlsCfg, err := clienttls.Load(context.Background(), s.cfg.TLS, false)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	s.tls = tlsCfg
	ctx := s.bg.Start()
	if len(s.cfg.Channels) > 0 || len(s.cfg.Patterns) > 0 {
		s.bg.Go(func() {
			s.runPubSub(ctx, host)
		})
	}
	if len(s.cfg.Streams) > 0 {
		s.bg.Go(func() {
			if s.cfg.Group.Name != "" {
				s.runGroup(ctx, host)
				return
			}
			s.runStreams(ctx, host)
		})
		s.bg.Go(func() { s.watchConsumers(ctx) })
	}
	return nil
}

// Shutdown stops the tap and waits for it, at most until ctx ends.
func (s *source) Shutdown(ctx context.Context) error {
	return s.bg.Stop(ctx, "redis")
}

// dial opens one connection, authenticated, named and on the configured
// database, within connect_timeout. Its reads and writes do not watch ctx:
// the caller closes it when ctx ends (see closeOnDone).
// A connection whose reader counts its limit errors itself passes counted
// false (see dialLimited).
func (s *source) dial(ctx context.Context, counted bool) (redis.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	opts := []redis.DialOption{
		redis.DialConnectTimeout(s.cfg.ConnectTimeout),
		redis.DialReadTimeout(s.ioTimeout),
		redis.DialWriteTimeout(s.ioTimeout),
		redis.DialUsername(s.cfg.Username),
		redis.DialPassword(string(s.cfg.Password)),
		redis.DialDatabase(s.cfg.DB),
		redis.DialClientName(s.clientName),
		redis.DialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			return s.dialLimited(ctx, network, addr, counted) // caps replies; runs TLS itself
		}),
	}
	c, err := redis.DialContext(ctx, "tcp", s.cfg.Endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

// closeOnDone closes c when ctx ends, which interrupts a blocking read
// (XREAD BLOCK, a Pub/Sub receive). The returned func closes c at once and
// stops watching.
func closeOnDone(ctx context.Context, c redis.Conn) (closeNow func()) {
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	return func() {
		stop()
		_ = c.Close()
	}
}

func (s *source) tapName() string {
	return s.tapSession + "-" + strconv.FormatUint(s.tapSeq.Add(1), 10)
}

// runPubSub subscribes and delivers until ctx ends. A Pub/Sub message is
// pushed once to the subscribers connected at that moment: what is
// published while the tap reconnects is not seen.
func (s *source) runPubSub(ctx context.Context, host component.Host) {
	// in carries messages already reduced to what spans need: a payload is
	// never queued, only the envelope's headers and sizes.
	in := make(chan message.Message, s.cfg.MaxBatchSize)
	s.bg.Go(func() {
		s.deliverPubSubLoop(ctx, in)
	})

	b := s.cfg.Reconnect.NewBackOff()
	for ctx.Err() == nil {
		err := s.pubSub(ctx, in, func() {
			b.Reset()
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
			s.log.Info("Redis Pub/Sub tap subscribed", zap.String("endpoint", s.cfg.Endpoint),
				zap.Strings("channels", s.cfg.Channels), zap.Strings("patterns", s.cfg.Patterns))
		})
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

// pubSub runs one Pub/Sub connection: it subscribes, calls subscribed once
// the server confirmed every channel and pattern, and receives into in
// until the connection fails or ctx ends.
func (s *source) pubSub(ctx context.Context, in chan<- message.Message, subscribed func()) error {
	c, err := s.dial(ctx, true)
	if err != nil {
		return err
	}
	closeNow := closeOnDone(ctx, c)
	defer closeNow()
	psc := redis.PubSubConn{Conn: c}
	if len(s.cfg.Channels) > 0 {
		if err := psc.Subscribe(redis.Args{}.AddFlat(s.cfg.Channels)...); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	if len(s.cfg.Patterns) > 0 {
		if err := psc.PSubscribe(redis.Args{}.AddFlat(s.cfg.Patterns)...); err != nil {
			return fmt.Errorf("psubscribe: %w", err)
		}
	}
	// keepAlive is the only writer from here on: PING never interleaves with SUBSCRIBE.
	done := make(chan struct{})
	defer close(done)
	s.bg.Go(func() {
		keepAlive(ctx, psc, s.healthCheck, done)
	})
	return s.receive(ctx, psc, in, subscribed)
}

// keepAlive sends PING every interval until done is closed or ctx ends:
// the reply keeps a healthy connection's reads within their deadline. A
// failed write ends it; the read then fails or times out.
func keepAlive(ctx context.Context, psc redis.PubSubConn, interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
			if psc.Ping("") != nil {
				return
			}
		}
	}
}

// receive reads Pub/Sub messages into in until the connection fails. Every
// read waits at most healthCheck+ioTimeout: longer than the gap between two
// PING replies, and a read that times out ends the connection.
func (s *source) receive(ctx context.Context, psc redis.PubSubConn, in chan<- message.Message, subscribed func()) error {
	unconfirmed := len(s.cfg.Channels) + len(s.cfg.Patterns) // SUBSCRIBE confirms each argument
	wait := s.healthCheck + s.ioTimeout
	for {
		switch m := psc.ReceiveWithTimeout(wait).(type) {
		case redis.Message:
			msg, faults := fromPubSub(&m, s.tapName())
			s.report(ctx, msg, faults)
			msg.Observed, msg.ServerAddress, msg.ServerPort = time.Now(), s.host, s.port
			select {
			case in <- msg:
			case <-ctx.Done():
				return ctx.Err()
			}
		case redis.Subscription:
			s.log.Debug("Redis Pub/Sub subscribed", zap.String("kind", m.Kind), zap.String("channel", m.Channel))
			if (m.Kind == "subscribe" || m.Kind == "psubscribe") && unconfirmed > 0 {
				if unconfirmed--; unconfirmed == 0 {
					subscribed()
				}
			}
		case redis.Pong:
			// the connection is alive; the read deadline starts again
		case error:
			var nerr net.Error
			if errors.As(m, &nerr) && nerr.Timeout() {
				return fmt.Errorf("health check: no reply within %s: %w", wait, m)
			}
			return fmt.Errorf("receive: %w", m)
		}
	}
}

// deliverPubSubLoop delivers Pub/Sub messages in batches of what has
// already arrived, up to max_batch_size, one Deliver call per channel.
func (s *source) deliverPubSubLoop(ctx context.Context, in <-chan message.Message) {
	batch := make([]message.Message, 0, s.cfg.MaxBatchSize)
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

func (s *source) deliverPubSub(ctx context.Context, msgs []message.Message) error {
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
func (s *source) runStreams(ctx context.Context, host component.Host) {
	b := s.cfg.Reconnect.NewBackOff()
	last := make(map[string]string, len(s.cfg.Streams))
	var limit limitState
	for ctx.Err() == nil {
		err := s.streams(ctx, last, &limit, func() {
			b.Reset()
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
			s.log.Info("Redis Streams tap reading", zap.String("endpoint", s.cfg.Endpoint), zap.Any("after", last))
		})
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

// streams runs one connection: it resolves the start IDs, calls reading,
// reads carefully if the last connection's read ended beyond the caps, and
// reads until the connection fails or ctx ends.
func (s *source) streams(ctx context.Context, last map[string]string, limit *limitState, reading func()) (err error) {
	defer func() {
		if ctx.Err() == nil {
			s.ended(context.WithoutCancel(ctx), limit, err, isStreamRead(err))
		}
	}()
	c, err := s.dial(ctx, false)
	if err != nil {
		return err
	}
	closeNow := closeOnDone(ctx, c)
	defer closeNow()
	if err := s.resolveStarts(c, last); err != nil {
		return err
	}
	reading()
	if limit.err != nil {
		found, err := s.readCarefully(ctx, c, last)
		if found {
			limit.err = nil // an oversized entry, counted as such, explains it
		}
		if err != nil {
			return err
		}
		limit.flush(ctx, s)
	}
	return s.readStreams(ctx, c, last)
}

// lastIDScript returns a stream's last generated ID alone: XINFO STREAM
// sends its first and last entries too, which may be beyond the caps.
var lastIDScript = redis.NewScript(1, `
local t = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #t, 2 do
  if t[i] == 'last-generated-id' then return t[i + 1] end
end
return false
`)

// resolveStarts turns start IDs into entry IDs once: "$" becomes the
// stream's last generated ID, so entries added while the tap reconnects
// are still read (XREAD with "$" again would skip them).
func (s *source) resolveStarts(c redis.Conn, last map[string]string) error {
	for _, st := range s.cfg.Streams {
		if _, ok := last[st.Name]; ok {
			continue
		}
		switch st.StartID {
		case "", StartNew:
			reply, err := lastIDScript.Do(c, st.Name)
			if err == nil {
				var id string
				if id, err = redis.String(reply, nil); err == nil {
					last[st.Name] = id
					continue
				}
				return fmt.Errorf("last ID of %s: reply is %s", st.Name, kindOf(reply))
			}
			var serr redis.Error
			if errors.As(err, &serr) && !strings.Contains(serr.Error(), "no such key") {
				// Scripting refused: XINFO STREAM, which fails beyond the caps
				// if the stream's first or last entry is oversized.
				reply, err = c.Do("XINFO", "STREAM", st.Name)
			}
			if err == nil {
				var id string
				if id, err = lastGeneratedID(reply); err == nil {
					last[st.Name] = id
					continue
				}
			}
			var rerr redis.Error
			if errors.As(err, &rerr) && strings.Contains(rerr.Error(), "no such key") {
				last[st.Name] = "0-0" // created later: every entry is new
				continue
			}
			return fmt.Errorf("xinfo stream %s: %w", st.Name, err)
		default:
			last[st.Name] = st.StartID
		}
	}
	return nil
}

func (s *source) readStreams(ctx context.Context, c redis.Conn, last map[string]string) error {
	n := len(s.cfg.Streams)
	args := make([]any, 0, 5+2*n)
	for {
		args = append(args[:0], "COUNT", s.cfg.MaxBatchSize, "BLOCK", s.cfg.Block.Milliseconds(), "STREAMS")
		for _, st := range s.cfg.Streams {
			args = append(args, st.Name)
		}
		for _, st := range s.cfg.Streams {
			args = append(args, last[st.Name])
		}
		reply, err := redis.DoWithTimeout(c, s.cfg.Block+s.ioTimeout, "XREAD", args...)
		if err != nil {
			return &streamReadError{fmt.Errorf("xread: %w", err)}
		}
		res, err := parseXRead(reply) // nil: nothing new within block
		if err != nil {
			return fmt.Errorf("xread: malformed reply: %w", err)
		}
		for i := range res {
			st := &res[i]
			if len(st.Entries) == 0 {
				continue
			}
			if err := s.deliverStream(ctx, st); err != nil {
				return err
			}
			last[st.Stream] = st.Entries[len(st.Entries)-1].ID
		}
	}
}

func (s *source) deliverStream(ctx context.Context, st *streamRead) error {
	now := time.Now()
	msgs := make([]message.Message, 0, len(st.Entries))
	for i := range st.Entries {
		msg, faults := fromStream(s.cfg.DB, st.Stream, &st.Entries[i])
		s.report(ctx, msg, faults)
		msg.Observed, msg.ServerAddress, msg.ServerPort = now, s.host, s.port
		s.observe(&msg, st.Entries[i].ID)
		msgs = append(msgs, msg)
	}
	return s.set.Deliver(ctx, msgs)
}
