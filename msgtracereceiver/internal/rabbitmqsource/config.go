// Package rabbitmqsource taps RabbitMQ for the msgtrace receiver, through the
// firehose (amq.rabbitmq.trace) or through a queue of its own bound to named
// exchanges, with github.com/rabbitmq/amqp091-go.
package rabbitmqsource // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/rabbitmqsource"

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Modes of the tap.
const (
	// ModeFirehose reads the broker's firehose: every publish and/or
	// delivery on the vhost, copied to amq.rabbitmq.trace. Needs
	// `rabbitmqctl trace_on -p <vhost>`.
	ModeFirehose = "firehose"
	// ModeQueue binds a queue of its own to the configured exchanges, so it
	// receives a copy of what they route (the send side only).
	ModeQueue = "queue"
)

// Firehose events.
const (
	EventPublish = "publish"
	EventDeliver = "deliver"
)

// Config is the `rabbitmq` block of the msgtrace receiver.
type Config struct {
	// Endpoint is the broker's AMQP URL without credentials or vhost:
	// amqp://host:5672 or amqps://host:5671.
	Endpoint string `mapstructure:"endpoint"`
	// VHost is the virtual host to tap.
	VHost string `mapstructure:"vhost"`
	// Username and Password authenticate with SASL PLAIN; both empty means
	// RabbitMQ's guest/guest (accepted from localhost only by default).
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// TLS has the collector's configtls meaning: a block dials TLS verified
	// with its settings, insecure: true is plaintext; an amqps:// endpoint
	// dials TLS without a block, with the system's CAs.
	TLS *configtls.ClientConfig `mapstructure:"tls"`
	// Mode is firehose or queue.
	Mode     string         `mapstructure:"mode"`
	Firehose FirehoseConfig `mapstructure:"firehose"`
	// Bindings bind the tap's queue in queue mode.
	Bindings []BindingConfig `mapstructure:"bindings"`
	Queue    QueueConfig     `mapstructure:"queue"`
	// Prefetch is the QoS prefetch count of the tap's consumer, and the
	// largest batch handed to the pipeline at once.
	Prefetch int `mapstructure:"prefetch"`
	// ConnectTimeout bounds the TCP, TLS and AMQP handshakes.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// Reconnect is the backoff between connection attempts.
	Reconnect ReconnectConfig `mapstructure:"reconnect"`
	// Consumers turns firehose deliver events into settles of the
	// applications' queues: settle spans and consumer metrics (consumers.go).
	Consumers consumers.Config `mapstructure:"consumers"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// FirehoseConfig selects what the firehose tap reads.
type FirehoseConfig struct {
	// Events is publish (the send side: one observation per published
	// message) and/or deliver (one observation per delivery to a queue).
	Events []string `mapstructure:"events"`
	// Exchanges limits publish events to these exchanges; empty is all.
	// The default exchange is "" (or amq.default).
	Exchanges []string `mapstructure:"exchanges"`
	// Queues limits deliver events to these queues; empty is all.
	Queues []string `mapstructure:"queues"`
}

// BindingConfig binds the tap's queue to one exchange.
type BindingConfig struct {
	Exchange   string         `mapstructure:"exchange"`
	RoutingKey string         `mapstructure:"routing_key"`
	Arguments  map[string]any `mapstructure:"arguments"`
}

// QueueConfig is the tap's own queue, in both modes.
type QueueConfig struct {
	// Name empty: a server-named, exclusive, auto-delete queue that lives
	// and dies with the tap's connection (messages routed while the tap is
	// reconnecting are not seen). A name: a non-exclusive queue that
	// survives reconnects (nothing lost in between), removed by the broker
	// after Expires without a consumer.
	Name string `mapstructure:"name"`
	// MaxLength is x-max-length: the queue keeps at most this many
	// messages and drops the oldest, so a slow or stopped gateway never
	// grows it without bound.
	MaxLength int64 `mapstructure:"max_length"`
	// Expires is x-expires for a named queue.
	Expires time.Duration `mapstructure:"expires"`
}

// ReconnectConfig is an exponential backoff between connection attempts.
type ReconnectConfig = message.ReconnectConfig

// NewDefaultConfig returns the defaults: the local broker's firehose,
// publish events of every exchange.
func NewDefaultConfig() *Config {
	return &Config{
		Endpoint: "amqp://127.0.0.1:5672",
		VHost:    "/",
		Mode:     ModeFirehose,
		Firehose: FirehoseConfig{Events: []string{EventPublish}},
		Queue: QueueConfig{
			MaxLength: 100_000,
			Expires:   30 * time.Minute,
		},
		Prefetch:       256,
		Consumers:      consumers.NewDefaultConfig(),
		ConnectTimeout: 10 * time.Second,
		Reconnect: ReconnectConfig{
			InitialInterval: time.Second,
			MaxInterval:     30 * time.Second,
		},
	}
}

// Validate checks the block; errors name the offending option.
func (c *Config) Validate() error {
	var errs []error
	if err := validateEndpoint(c.Endpoint); err != nil {
		errs = append(errs, err)
	}
	tlsScheme := ""
	if strings.HasPrefix(c.Endpoint, "amqps://") {
		tlsScheme = "amqps://"
	}
	if err := clienttls.Validate(c.TLS, tlsScheme); err != nil {
		errs = append(errs, err)
	}
	if c.VHost == "" {
		errs = append(errs, errors.New("vhost must not be empty (the default vhost is \"/\")"))
	}
	if c.Username == "" && c.Password != "" {
		errs = append(errs, errors.New("password is set but username is empty"))
	}
	switch c.Mode {
	case ModeFirehose:
		if len(c.Firehose.Events) == 0 {
			errs = append(errs, errors.New("firehose.events must name publish and/or deliver"))
		}
		for _, e := range c.Firehose.Events {
			if e != EventPublish && e != EventDeliver {
				errs = append(errs, fmt.Errorf("firehose.events: unknown event %q (want publish or deliver)", e))
			}
		}
		if len(c.Firehose.Queues) > 0 && !slices.Contains(c.Firehose.Events, EventDeliver) {
			errs = append(errs, errors.New("firehose.queues filters deliver events, but firehose.events has no deliver"))
		}
		if len(c.Bindings) > 0 {
			errs = append(errs, errors.New("bindings apply to mode queue only; the firehose tap binds to amq.rabbitmq.trace itself"))
		}
	case ModeQueue:
		if len(c.Bindings) == 0 {
			errs = append(errs, errors.New("mode queue needs at least one entry in bindings"))
		}
		for i, b := range c.Bindings {
			if b.Exchange == "" || b.Exchange == defaultExchange {
				errs = append(errs, fmt.Errorf("bindings[%d]: the default exchange cannot be bound; use mode firehose to see it", i))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q: want %q or %q", c.Mode, ModeFirehose, ModeQueue))
	}
	if c.Queue.MaxLength <= 0 {
		errs = append(errs, errors.New("queue.max_length must be positive: the tap's queue is always bounded"))
	}
	if c.Queue.Name != "" && c.Queue.Expires < time.Second {
		errs = append(errs, errors.New("queue.expires must be at least 1s for a named queue, so an abandoned queue is removed"))
	}
	if c.Prefetch <= 0 || c.Prefetch > 65535 {
		errs = append(errs, fmt.Errorf("prefetch %d: want 1 to 65535", c.Prefetch))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, errors.New("connect_timeout must be positive"))
	}
	if err := c.validateConsumers(); err != nil {
		errs = append(errs, err)
	}
	if c.Reconnect.InitialInterval <= 0 || c.Reconnect.MaxInterval < c.Reconnect.InitialInterval {
		errs = append(errs, errors.New("reconnect: initial_interval must be positive and max_interval at least initial_interval"))
	}
	return errors.Join(errs...)
}

func validateEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		// url's error repeats the URL, which may hold a password: say less.
		return errors.New("endpoint is not a valid URL (want amqp://host:port)")
	}
	if u.Scheme != "amqp" && u.Scheme != "amqps" {
		return fmt.Errorf("endpoint scheme %q: want amqp or amqps", u.Scheme)
	}
	if u.User != nil {
		return errors.New("endpoint must not carry credentials; set username and password instead")
	}
	if u.Hostname() == "" {
		return errors.New("endpoint has no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return errors.New("endpoint must not carry a vhost or query; set vhost instead")
	}
	return nil
}
