package rabbitmqsource

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// errConnectionLost ends a session whose connection, channel or consumer
// the broker closed (a deleted tap queue cancels the consumer, for instance).
var errConnectionLost = errors.New("rabbitmq consumer ended")

type source struct {
	cfg  *Config
	set  message.Settings
	log  *zap.Logger
	host string
	port int
	url  string // endpoint with the scheme that selects TLS
	tls  bool
	// connName is advertised as connection_name, so operators can tell the
	// tap's connection apart in the management UI and rabbitmqctl.
	connName string
	// tracker turns deliver events into settles (consumers.go); nil unless
	// consumers are enabled.
	tracker *consumers.Tracker

	bg message.Background
}

// New returns the RabbitMQ source for cfg, which must be valid.
func New(cfg *Config, set message.Settings) (message.Source, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, errors.New("rabbitmq: endpoint is not a valid URL")
	}
	port := 5672
	if u.Scheme == "amqps" {
		port = 5671
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("rabbitmq: endpoint port %q: %w", p, err)
		}
	}
	useTLS := clienttls.Enabled(cfg.TLS, u.Scheme == "amqps")
	if useTLS {
		u.Scheme = "amqps" // amqp091 runs the TLS handshake for amqps only
	}
	u.Path = ""
	tracker, err := newTracker(cfg, set)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: consumers: %w", err)
	}
	return &source{
		tracker: tracker,
		cfg:     cfg,
		set:     set,
		log:     set.Logger,
		host:    u.Hostname(),
		port:    port,
		url:     u.String(),
		tls:     useTLS,

		connName: "otelcol-msg msgtrace",
	}, nil
}

// Start connects in the background and returns at once.
func (s *source) Start(_ context.Context, host component.Host) error {
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return fmt.Errorf("rabbitmq: %w", err)
	}
	ctx := s.bg.Start()
	s.bg.Go(func() {
		s.run(ctx, host, tlsCfg)
	})
	s.bg.Go(func() { s.flushSettles(ctx) })
	return nil
}

// Shutdown stops the tap and waits for it, at most until ctx ends.
// Deliveries that were not handed to the pipeline stay unacknowledged and
// return to the tap's queue.
func (s *source) Shutdown(ctx context.Context) error {
	return s.bg.Stop(ctx, "rabbitmq")
}

func (s *source) tlsConfig() (*tls.Config, error) {
	return clienttls.Load(context.Background(), s.cfg.TLS, s.tls)
}

// run keeps one session alive until ctx ends, reconnecting with backoff;
// the component status follows the connection.
func (s *source) run(ctx context.Context, host component.Host, tlsCfg *tls.Config) {
	b := s.cfg.Reconnect.NewBackOff()
	for {
		connected, err := s.session(ctx, host, tlsCfg)
		if ctx.Err() != nil {
			return
		}
		s.countProtocol(ctx, err)
		componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("rabbitmq: %w", err)))
		if connected {
			b.Reset()
		}
		wait := b.NextBackOff()
		s.log.Warn("RabbitMQ tap disconnected; reconnecting",
			zap.String("endpoint", s.host+":"+strconv.Itoa(s.port)), zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// session runs one connection: dial, declare the tap's queue, consume until
// the connection goes away or ctx ends. connected reports that the tap got
// as far as consuming, so the backoff starts over.
func (s *source) session(ctx context.Context, host component.Host, tlsCfg *tls.Config) (connected bool, err error) {
	conn, err := s.dial(ctx, tlsCfg)
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.CloseDeadline(time.Now().Add(time.Second)) }()

	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open channel: %w", err)
	}
	if err = ch.Qos(s.cfg.Prefetch, 0, false); err != nil {
		return false, fmt.Errorf("set prefetch: %w", err)
	}
	queue, err := s.declare(ch)
	if err != nil {
		return false, err
	}
	deliveries, err := ch.ConsumeWithContext(ctx, queue, "", false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume %s: %w", queue, err)
	}
	// Names this connection's deliveries, for messages without a message_id.
	sess := rand.Text()
	componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
	s.log.Info("RabbitMQ tap consuming", zap.String("mode", s.cfg.Mode), zap.String("vhost", s.cfg.VHost), zap.String("queue", queue))
	err = s.consume(ctx, ch, deliveries, sess)
	if errors.Is(err, errConnectionLost) {
		// The broker says why it closed the connection (forced, shutdown, ...).
		select {
		case reason := <-closed:
			if reason != nil {
				err = fmt.Errorf("%w: %v", errConnectionLost, reason)
			}
		default:
		}
	}
	return true, err
}

// dial connects; ctx ending interrupts the TCP, TLS and AMQP handshakes
// (once connected, the session closes the connection gracefully itself).
func (s *source) dial(ctx context.Context, tlsCfg *tls.Config) (*amqp.Connection, error) {
	var (
		mu   sync.Mutex
		stop = func() bool { return false }
	)
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(s.connName)
	cfg := amqp.Config{
		Vhost:           s.cfg.VHost,
		Heartbeat:       10 * time.Second,
		TLSClientConfig: tlsCfg,
		Properties:      props,
		FrameSize:       frameSize,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: s.cfg.ConnectTimeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// amqp091 clears the deadline once the AMQP handshake is done.
			if err := c.SetDeadline(time.Now().Add(s.cfg.ConnectTimeout)); err != nil {
				c.Close()
				return nil, err
			}
			mu.Lock()
			stop = context.AfterFunc(ctx, func() { c.Close() })
			mu.Unlock()
			return c, nil
		},
	}
	if s.cfg.Username != "" {
		cfg.SASL = []amqp.Authentication{&amqp.PlainAuth{Username: s.cfg.Username, Password: string(s.cfg.Password)}}
	}
	conn, err := amqp.DialConfig(s.url, cfg)
	mu.Lock()
	stop()
	mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

// declare creates the tap's bounded queue and binds it; it returns the
// queue's name (server-chosen when queue.name is empty).
func (s *source) declare(ch *amqp.Channel) (string, error) {
	args := amqp.Table{"x-max-length": s.cfg.Queue.MaxLength}
	exclusive := s.cfg.Queue.Name == ""
	if !exclusive {
		args["x-expires"] = s.cfg.Queue.Expires.Milliseconds()
	}
	// Never durable: the tap's copies are not worth a disk write, and a
	// named queue outlives reconnects, not broker restarts.
	q, err := ch.QueueDeclare(s.cfg.Queue.Name, false, exclusive, exclusive, false, args)
	if err != nil {
		return "", fmt.Errorf("declare queue %q: %w", s.cfg.Queue.Name, err)
	}
	for _, b := range s.bindings() {
		if err := ch.QueueBind(q.Name, b.RoutingKey, b.Exchange, false, amqp.Table(b.Arguments)); err != nil {
			return "", fmt.Errorf("bind queue %s to exchange %q with key %q: %w", q.Name, b.Exchange, b.RoutingKey, err)
		}
	}
	return q.Name, nil
}

// bindings lists what the tap's queue is bound to. The firehose routes
// trace messages with the keys publish.<exchange> and deliver.<queue>.
func (s *source) bindings() []BindingConfig {
	if s.cfg.Mode == ModeQueue {
		return s.cfg.Bindings
	}
	var out []BindingConfig
	for _, e := range s.cfg.Firehose.Events {
		names := s.cfg.Firehose.Exchanges
		if e == EventDeliver {
			names = s.cfg.Firehose.Queues
		}
		if len(names) == 0 {
			out = append(out, BindingConfig{Exchange: traceExchange, RoutingKey: e + ".#"})
			continue
		}
		for _, n := range names {
			if e == EventPublish && n == defaultExchange {
				n = ""
			}
			out = append(out, BindingConfig{Exchange: traceExchange, RoutingKey: e + "." + n})
		}
	}
	return out
}

// consume hands deliveries to the pipeline in batches of what has arrived,
// up to the prefetch count, and acknowledges each batch once delivered.
func (s *source) consume(ctx context.Context, ch *amqp.Channel, deliveries <-chan amqp.Delivery, sess string) error {
	batch := make([]amqp.Delivery, 0, s.cfg.Prefetch)
	for {
		var (
			d  amqp.Delivery
			ok bool
		)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case d, ok = <-deliveries:
			if !ok {
				return errConnectionLost
			}
		}
		batch = append(batch[:0], d)
		closed := false
	drain:
		for len(batch) < cap(batch) {
			select {
			case d, ok = <-deliveries:
				if !ok {
					closed = true
					break drain
				}
				batch = append(batch, d)
			default:
				break drain
			}
		}
		if err := s.deliver(ctx, batch, sess); err != nil {
			return err
		}
		if closed {
			return errConnectionLost
		}
		if err := ch.Ack(batch[len(batch)-1].DeliveryTag, true); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}

// deliver turns deliveries into messages and hands them to the pipeline,
// one call per destination, in order of arrival.
func (s *source) deliver(ctx context.Context, batch []amqp.Delivery, sess string) error {
	now := time.Now()
	msgs := make([]message.Message, 0, len(batch))
	for i := range batch {
		d := &batch[i]
		var (
			o      observation
			faults []fault
		)
		if s.cfg.Mode == ModeFirehose {
			o, faults = fromFirehose(d, s.cfg.VHost)
		} else {
			o = fromDelivery(d, s.cfg.VHost)
		}
		o.tapDelivery = tapDeliveryName(sess, d.DeliveryTag)
		m, hf := o.toMessage(now, s.host, s.port)
		for _, f := range append(faults, hf...) {
			s.set.Telemetry.Fault(ctx, System, f.kind)
			s.log.Debug("RabbitMQ message with a wire fault", zap.String("kind", f.kind),
				zap.String("destination", m.Destination), zap.String("identity", m.Identity), zap.Error(f.err))
		}
		s.settle(&o, firehoseRedelivered(d), &m)
		msgs = append(msgs, m)
	}
	for _, group := range message.GroupByDestination(msgs) {
		if err := s.set.Deliver(ctx, group); err != nil {
			return err
		}
	}
	return nil
}
