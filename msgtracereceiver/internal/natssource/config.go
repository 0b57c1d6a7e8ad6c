// Package natssource taps NATS for the msgtrace receiver, with
// github.com/nats-io/nats.go: core subjects (wildcards allowed) through
// plain subscriptions, and JetStream streams through ordered consumers,
// which are ephemeral and never touch the applications' consumers.
package natssource // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/natssource"

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// JetStream deliver policies: where an ordered consumer starts.
const (
	DeliverNew         = "new"
	DeliverAll         = "all"
	DeliverLast        = "last"
	DeliverByStartTime = "by_start_time"
)

// Config is the `nats` block of the msgtrace receiver.
type Config struct {
	// Servers are NATS URLs (nats://host:4222, tls://host:4222) without credentials.
	Servers []string `mapstructure:"servers"`
	// Username and Password, Token, or CredentialsFile (a .creds file with a
	// user JWT and NKey seed) authenticate; at most one of the three.
	Username        string              `mapstructure:"username"`
	Password        configopaque.String `mapstructure:"password"`
	Token           configopaque.String `mapstructure:"token"`
	CredentialsFile string              `mapstructure:"credentials_file"`
	// TLS has the collector's configtls meaning: a block dials TLS verified
	// with its settings, insecure: true is plaintext; tls:// servers dial
	// TLS without a block, with the system's CAs.
	TLS *configtls.ClientConfig `mapstructure:"tls"`
	// Subjects are core NATS subjects to observe, wildcards (* and >)
	// allowed. Applications keep every message: the tap subscribes without
	// a queue group, or in one of the taps' own (QueueGroup).
	Subjects []string `mapstructure:"subjects"`
	// QueueGroup, when set, subscribes to Subjects through this queue group
	// of the taps, so that replicas split the messages (queuegroup.go).
	QueueGroup string `mapstructure:"queue_group"`
	// JetStream streams to observe through ordered consumers.
	JetStream JetStreamConfig `mapstructure:"jetstream"`
	// MaxBatchSize bounds how many messages are handed to the pipeline together.
	MaxBatchSize int `mapstructure:"max_batch_size"`
	// PendingLimit and PendingBytesLimit bound the core messages waiting
	// for the pipeline, in messages and in bytes; beyond either, new ones
	// are dropped and counted (core NATS has no flow control). Queued
	// messages keep only what spans need, not their payload. The same
	// bounds apply to each subscription's client buffer, and PendingBytesLimit
	// to what a JetStream ordered consumer pulls ahead.
	PendingLimit      int `mapstructure:"pending_limit"`
	PendingBytesLimit int `mapstructure:"pending_bytes_limit"`
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// Reconnect is the backoff between connection attempts.
	Reconnect ReconnectConfig `mapstructure:"reconnect"`
	// Consumers watches the applications' JetStream consumers of the tapped
	// streams (their ack floors): settle spans and consumer metrics
	// (consumers.go).
	Consumers consumers.Config `mapstructure:"consumers"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// JetStreamConfig lists the streams to observe.
type JetStreamConfig struct {
	// Domain is the JetStream domain, empty for the default.
	Domain  string         `mapstructure:"domain"`
	Streams []StreamConfig `mapstructure:"streams"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// StreamConfig is one stream observed through an ordered consumer.
type StreamConfig struct {
	Name string `mapstructure:"name"`
	// FilterSubjects limits the consumer to these subjects of the stream
	// (one subject works with every server; several need nats-server 2.10).
	FilterSubjects []string `mapstructure:"filter_subjects"`
	// DeliverPolicy is where the consumer starts when the source starts:
	// new (messages stored from now on), all, last, or by_start_time.
	DeliverPolicy string `mapstructure:"deliver_policy"`
	// StartTime is the start for by_start_time.
	StartTime time.Time `mapstructure:"start_time"`
	// Durable, when set, reads the stream through this durable pull
	// consumer of the taps, shared by the replicas (durable.go); AckWait and
	// InactiveThreshold configure it.
	Durable           string        `mapstructure:"durable"`
	AckWait           time.Duration `mapstructure:"ack_wait"`
	InactiveThreshold time.Duration `mapstructure:"inactive_threshold"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// minPendingBytes keeps pending_bytes_limit above one message with headers.
const minPendingBytes = 64 << 10

// ReconnectConfig is an exponential backoff between connection attempts.
type ReconnectConfig = message.ReconnectConfig

// NewDefaultConfig returns the defaults of a `nats` block.
func NewDefaultConfig() *Config {
	return &Config{
		Servers:           []string{"nats://127.0.0.1:4222"},
		MaxBatchSize:      256,
		PendingLimit:      65536,
		PendingBytesLimit: 64 << 20,
		ConnectTimeout:    5 * time.Second,
		Consumers:         consumers.NewDefaultConfig(),
		Reconnect: ReconnectConfig{
			InitialInterval: time.Second,
			MaxInterval:     30 * time.Second,
		},
	}
}

// Validate checks the block; errors name the offending option.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Servers) == 0 {
		errs = append(errs, errors.New("servers: at least one NATS URL is required"))
	}
	for _, s := range c.Servers {
		if err := validateServer(s); err != nil {
			errs = append(errs, err)
		}
	}
	tlsScheme := ""
	for _, s := range c.Servers {
		if strings.HasPrefix(s, "tls://") {
			tlsScheme = "tls://"
		}
	}
	if err := clienttls.Validate(c.TLS, tlsScheme); err != nil {
		errs = append(errs, err)
	}
	auth := 0
	if c.Username != "" || c.Password != "" {
		auth++
		if c.Username == "" {
			errs = append(errs, errors.New("password is set but username is empty"))
		}
	}
	if c.Token != "" {
		auth++
	}
	if c.CredentialsFile != "" {
		auth++
	}
	if auth > 1 {
		errs = append(errs, errors.New("set only one of username/password, token and credentials_file"))
	}
	if len(c.Subjects) == 0 && len(c.JetStream.Streams) == 0 {
		errs = append(errs, errors.New("nothing to observe: set subjects and/or jetstream.streams"))
	}
	for _, s := range c.Subjects {
		if err := validateSubject(s); err != nil {
			errs = append(errs, fmt.Errorf("subjects: %w", err))
		}
	}
	seen := map[string]bool{}
	for i, s := range c.JetStream.Streams {
		if err := s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("jetstream.streams[%d]: %w", i, err))
		}
		for _, err := range s.validateDurable() {
			errs = append(errs, fmt.Errorf("jetstream.streams[%d]: %w", i, err))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("jetstream.streams[%d]: stream %q is listed twice", i, s.Name))
		}
		seen[s.Name] = true
	}
	if err := validateQueueGroup(c.QueueGroup); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBatchSize < 1 {
		errs = append(errs, fmt.Errorf("max_batch_size must be at least 1, got %d", c.MaxBatchSize))
	}
	if c.PendingLimit < c.MaxBatchSize {
		errs = append(errs, fmt.Errorf("pending_limit (%d) must be at least max_batch_size (%d)", c.PendingLimit, c.MaxBatchSize))
	}
	if c.PendingBytesLimit < minPendingBytes {
		errs = append(errs, fmt.Errorf("pending_bytes_limit must be at least %d, got %d", minPendingBytes, c.PendingBytesLimit))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, errors.New("connect_timeout must be positive"))
	}
	if c.Reconnect.InitialInterval <= 0 || c.Reconnect.MaxInterval < c.Reconnect.InitialInterval {
		errs = append(errs, errors.New("reconnect: initial_interval must be positive and max_interval at least initial_interval"))
	}
	if err := c.validateConsumers(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *StreamConfig) validate() error {
	if s.Name == "" || strings.ContainsAny(s.Name, " \t.*>") {
		return fmt.Errorf("name %q: want a stream name without blanks, '.', '*' or '>'", s.Name)
	}
	for _, f := range s.FilterSubjects {
		if err := validateSubject(f); err != nil {
			return fmt.Errorf("filter_subjects: %w", err)
		}
	}
	switch s.DeliverPolicy {
	case "", DeliverNew, DeliverAll, DeliverLast:
		if !s.StartTime.IsZero() {
			return errors.New("start_time applies to deliver_policy by_start_time only")
		}
	case DeliverByStartTime:
		if s.StartTime.IsZero() {
			return errors.New("deliver_policy by_start_time needs start_time")
		}
	default:
		return fmt.Errorf("deliver_policy %q: want new, all, last or by_start_time", s.DeliverPolicy)
	}
	return nil
}

func validateServer(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		// url's error repeats the URL, which may hold a password: say less.
		return errors.New("servers: an entry is not a valid URL (want nats://host:port)")
	}
	switch u.Scheme {
	case "nats", "tls":
	default:
		return fmt.Errorf("servers: scheme %q: want nats or tls", u.Scheme)
	}
	if u.User != nil {
		return errors.New("servers: URLs must not carry credentials; set username/password, token or credentials_file")
	}
	if u.Hostname() == "" {
		return fmt.Errorf("servers: %q has no host", s)
	}
	return nil
}

// validateSubject accepts NATS subjects: dot-separated non-empty tokens,
// '*' a whole token, '>' only as the last token.
func validateSubject(s string) error {
	if s == "" {
		return errors.New("empty subject")
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return fmt.Errorf("%q has an empty token", s)
		case strings.ContainsAny(t, " \t\r\n"):
			return fmt.Errorf("%q contains blanks", s)
		case t == ">" && i != len(tokens)-1:
			return fmt.Errorf("%q: '>' must be the last token", s)
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return fmt.Errorf("%q: wildcards must be whole tokens", s)
		}
	}
	return nil
}
