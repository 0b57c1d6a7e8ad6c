package consumers

import (
	"errors"
	"fmt"
	"time"
)

// Spans says which spans settles yield.
type Spans string

const (
	// SpansSettle: one `settle <destination>` span per message and group.
	SpansSettle Spans = "settle"
	// SpansCommit: one span per group and frontier advance (a commit seen
	// by one poll), with a link per settled message; for high volume.
	SpansCommit Spans = "commit"
	// SpansNone: metrics only.
	SpansNone Spans = "none"
)

// check reports an unknown mode. It is not named Validate: the collector
// would call it for the field as well as Config.Validate does, and report it
// twice.
func (s Spans) check() error {
	switch s {
	case SpansSettle, SpansCommit, SpansNone:
		return nil
	}
	return fmt.Errorf("spans must be settle, commit or none, got %q", string(s))
}

// Defaults of a consumers block.
const (
	DefaultPollInterval    = time.Second
	DefaultStuckAfter      = 5 * time.Minute
	DefaultMaxTrackedBytes = 16 << 20
	// minTrackedBytes keeps room for a few thousand messages: below it the
	// index would evict on every message.
	minTrackedBytes = 64 << 10
)

// Config is the `consumers:` block of a source: which application consumer
// groups of the tapped destinations are watched, and what their settles yield.
type Config struct {
	// Enabled turns watching on. Off by default: watching polls the broker
	// and keeps an index of observed messages, which a tap that only wants
	// receive spans should not pay for.
	Enabled bool `mapstructure:"enabled"`
	// Groups names the watched groups, exactly or as `^regex` (anchored
	// with $ as the author wishes). Empty: every application group found on
	// a tapped destination, the tap's own group excluded.
	Groups []string `mapstructure:"groups"`
	// PollInterval is how often the broker is asked for the groups'
	// positions; a settle is dated to the poll that saw it.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// Spans: settle (default), commit or none.
	Spans Spans `mapstructure:"spans"`
	// StuckAfter counts a message as stuck for a group when the group has
	// not settled it this long after its creation.
	StuckAfter time.Duration `mapstructure:"stuck_after"`
	// MaxTrackedBytes caps the index of observed messages (position,
	// creation time and context) of the source, all partitions together.
	MaxTrackedBytes int64 `mapstructure:"max_tracked_bytes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NewDefaultConfig returns the defaults of a consumers block (disabled).
func NewDefaultConfig() Config {
	return Config{
		PollInterval:    DefaultPollInterval,
		Spans:           SpansSettle,
		StuckAfter:      DefaultStuckAfter,
		MaxTrackedBytes: DefaultMaxTrackedBytes,
	}
}

// Validate reports every invalid option. The collector calls it for the
// nested block, prefixing the path (kafka::consumers::...).
func (c *Config) Validate() error {
	var errs []error
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll_interval must be positive, got %s", c.PollInterval))
	}
	if err := c.Spans.check(); err != nil {
		errs = append(errs, err)
	}
	if c.StuckAfter <= 0 {
		errs = append(errs, fmt.Errorf("stuck_after must be positive, got %s", c.StuckAfter))
	}
	if c.MaxTrackedBytes < minTrackedBytes {
		errs = append(errs, fmt.Errorf("max_tracked_bytes must be at least %d, got %d", minTrackedBytes, c.MaxTrackedBytes))
	}
	if _, err := NewGroupMatcher(c.Groups, ""); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
