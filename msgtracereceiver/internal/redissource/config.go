// Package redissource taps Redis for the msgtrace receiver, with
// github.com/gomodule/redigo (one plain connection per reader, RESP2):
// Pub/Sub channels and patterns, and Streams read with XREAD, which never
// removes or claims an entry, or through a consumer group of the taps that
// their replicas share (group.go). Lists are not tapped: the only way to see a
// list message is to pop it, taking it from the application.
//
// Redis messages have no headers: FastStream wraps them in an envelope,
// decoded by fsenvelope.
package redissource // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/redissource"

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Stream start IDs with a meaning of their own.
const (
	// StartNew reads entries added after the source starts.
	StartNew = "$"
	// StartAll reads a stream from its first entry.
	StartAll = "0"
)

// Config is the `redis` block of the msgtrace receiver.
type Config struct {
	// Endpoint is host:port of the Redis server.
	Endpoint string `mapstructure:"endpoint"`
	// Username (Redis 6 ACL; empty for the default user) and Password.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// DB is the database of the streams (Pub/Sub spans every database).
	DB int `mapstructure:"db"`
	// TLS has the collector's configtls meaning: a block dials TLS verified
	// with its settings, insecure: true is plaintext.
	TLS *configtls.ClientConfig `mapstructure:"tls"`
	// Channels are observed with SUBSCRIBE, Patterns with PSUBSCRIBE.
	Channels []string `mapstructure:"channels"`
	Patterns []string `mapstructure:"patterns"`
	// Streams are read with XREAD from their start_id, or through the taps'
	// consumer group when Group names one.
	Streams []StreamConfig `mapstructure:"streams"`
	// Group lets replicas of the tap split the streams' entries (group.go).
	Group GroupConfig `mapstructure:"group"`
	// MaxBatchSize bounds how many messages are handed to the pipeline
	// together (and the COUNT of each XREAD).
	MaxBatchSize int `mapstructure:"max_batch_size"`
	// Block is how long one XREAD waits for new entries.
	Block time.Duration `mapstructure:"block"`
	// MaxBulkBytes and MaxReplyElements cap what a reply may declare (a
	// bulk string's length; the elements of one reply, nested arrays
	// together), checked before the client allocates from them. A reply
	// beyond a cap closes the connection (a "protocol" fault); the source
	// reconnects with backoff.
	MaxBulkBytes     int64 `mapstructure:"max_bulk_bytes"`
	MaxReplyElements int64 `mapstructure:"max_reply_elements"`
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// Reconnect is the backoff between attempts after a failure.
	Reconnect ReconnectConfig `mapstructure:"reconnect"`
	// Consumers watches the applications' consumer groups of the streams
	// (XINFO GROUPS, XPENDING): settle spans and consumer metrics (consumers.go).
	Consumers consumers.Config `mapstructure:"consumers"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// StreamConfig is one stream read with XREAD.
type StreamConfig struct {
	Name string `mapstructure:"name"`
	// StartID is where reading starts when the source starts: "$" (entries
	// added from now on, the default), "0" (the whole stream) or an entry
	// ID such as 1700000000000-0.
	StartID string `mapstructure:"start_id"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ReconnectConfig is an exponential backoff between attempts.
type ReconnectConfig = message.ReconnectConfig

// NewDefaultConfig returns the defaults of a `redis` block.
func NewDefaultConfig() *Config {
	return &Config{
		Endpoint:         "127.0.0.1:6379",
		MaxBatchSize:     256,
		Block:            5 * time.Second,
		MaxBulkBytes:     64 << 20,
		MaxReplyElements: 1 << 20,
		ConnectTimeout:   5 * time.Second,
		Group:            GroupConfig{ClaimIdle: defaultClaimIdle},
		Consumers:        consumers.NewDefaultConfig(),
		Reconnect: ReconnectConfig{
			InitialInterval: time.Second,
			MaxInterval:     30 * time.Second,
		},
	}
}

// Bounds of the reply caps: Redis stores values up to 512 MiB, and 2^26
// reply elements take 1 GiB of slots in redigo.
const (
	minBulkBytes     = 1 << 10
	maxBulkBytes     = 512 << 20
	maxReplyElements = 1 << 26
)

var entryID = regexp.MustCompile(`^[0-9]+(-[0-9]+)?$`)

// Validate checks the block; errors name the offending option.
func (c *Config) Validate() error {
	var errs []error
	if host, port, err := net.SplitHostPort(c.Endpoint); err != nil || host == "" || port == "" {
		errs = append(errs, fmt.Errorf("endpoint %q: want host:port", c.Endpoint))
	}
	if err := clienttls.Validate(c.TLS, ""); err != nil {
		errs = append(errs, err)
	}
	if c.DB < 0 {
		errs = append(errs, fmt.Errorf("db must not be negative, got %d", c.DB))
	}
	if len(c.Channels) == 0 && len(c.Patterns) == 0 && len(c.Streams) == 0 {
		errs = append(errs, errors.New("nothing to observe: set channels, patterns and/or streams"))
	}
	for _, ch := range c.Channels {
		if ch == "" {
			errs = append(errs, errors.New("channels: empty channel name"))
		}
	}
	for _, p := range c.Patterns {
		if p == "" {
			errs = append(errs, errors.New("patterns: empty pattern"))
		}
	}
	seen := map[string]bool{}
	for i, s := range c.Streams {
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("streams[%d]: name is required", i))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("streams[%d]: stream %q is listed twice", i, s.Name))
		}
		seen[s.Name] = true
		if s.StartID != "" && s.StartID != StartNew && !entryID.MatchString(s.StartID) {
			errs = append(errs, fmt.Errorf(`streams[%d]: start_id %q: want "$", "0" or an entry ID such as 1700000000000-0`, i, s.StartID))
		}
	}
	if c.MaxBatchSize < 1 {
		errs = append(errs, fmt.Errorf("max_batch_size must be at least 1, got %d", c.MaxBatchSize))
	}
	if c.MaxBulkBytes < minBulkBytes || c.MaxBulkBytes > maxBulkBytes {
		errs = append(errs, fmt.Errorf("max_bulk_bytes must be between %d and %d (Redis' own proto-max-bulk-len default), got %d", minBulkBytes, maxBulkBytes, c.MaxBulkBytes))
	}
	if minElements := int64(4*c.MaxBatchSize + 64); c.MaxReplyElements < minElements || c.MaxReplyElements > maxReplyElements {
		errs = append(errs, fmt.Errorf("max_reply_elements must be between %d (an XREAD reply of max_batch_size entries) and %d, got %d", minElements, maxReplyElements, c.MaxReplyElements))
	}
	if c.Block < time.Millisecond {
		errs = append(errs, errors.New("block must be at least 1ms (0 would block XREAD forever)"))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, errors.New("connect_timeout must be positive"))
	}
	if c.Reconnect.InitialInterval <= 0 || c.Reconnect.MaxInterval < c.Reconnect.InitialInterval {
		errs = append(errs, errors.New("reconnect: initial_interval must be positive and max_interval at least initial_interval"))
	}
	errs = append(errs, c.Group.validate(len(c.Streams))...)
	if err := c.validateConsumers(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
