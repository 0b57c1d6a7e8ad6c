package kafkasource // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/kafkasource"

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
)

// Initial offsets, as in contrib's configkafka.
const (
	OffsetLatest   = "latest"
	OffsetEarliest = "earliest"
)

// SASL mechanisms the source supports.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// DefaultGroupID is the consumer group of the tap. It is the receiver's own
// group, so the tap never takes partitions away from an application.
const DefaultGroupID = "otelcol-msgtrace"

// Config is the `kafka` block of the msgtrace receiver.
type Config struct {
	// Brokers are the bootstrap servers.
	Brokers []string `mapstructure:"brokers"`
	// Topics to tap: a name, or a regular expression when it starts with '^'.
	Topics []string `mapstructure:"topics"`
	// TopicRefreshInterval is how often the cluster's metadata is read
	// again, so that new topics (by name or regex) and added partitions are
	// picked up; they are read from their oldest offset.
	TopicRefreshInterval time.Duration `mapstructure:"topic_refresh_interval"`
	// GroupID is the tap's own consumer group.
	GroupID string `mapstructure:"group_id"`
	// InitialOffset is where a partition that existed when the tap first
	// started, and has no committed offset, starts: "latest" or "earliest".
	// Partitions that appear later always start at their oldest offset.
	InitialOffset string `mapstructure:"initial_offset"`
	// ProtocolVersion is the Kafka version the client assumes, e.g. "3.7.0".
	ProtocolVersion string `mapstructure:"protocol_version"`
	// ClientID is advertised to the brokers (quotas, ACLs, logs).
	ClientID string `mapstructure:"client_id"`
	// TLS enables TLS when set.
	TLS *configtls.ClientConfig `mapstructure:"tls"`
	// Auth holds the SASL settings.
	Auth AuthConfig `mapstructure:"auth"`
	// IncludeMessageKey records messaging.kafka.message.key. Off by default:
	// keys are often personal data (user or account IDs).
	IncludeMessageKey bool `mapstructure:"include_message_key"`
	// MaxBatchSize bounds how many records of one partition are handed to
	// the pipeline together (one ConsumeTraces call, one batch span).
	MaxBatchSize int `mapstructure:"max_batch_size"`
	// SessionTimeout and HeartbeatInterval tune the group membership.
	SessionTimeout    time.Duration `mapstructure:"session_timeout"`
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval"`
	// CommitInterval is how often marked offsets are committed. Offsets are
	// only marked after the pipeline accepted the spans, so a shorter
	// interval only narrows the redelivery window after a crash.
	CommitInterval time.Duration `mapstructure:"commit_interval"`
	// Consumers watches the committed offsets of the application groups
	// that consume the tapped topics (settle spans, consumer metrics).
	Consumers consumers.Config `mapstructure:"consumers"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// AuthConfig holds the authentication settings.
type AuthConfig struct {
	SASL *SASLConfig `mapstructure:"sasl"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SASLConfig configures SASL authentication.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string              `mapstructure:"mechanism"`
	Username  string              `mapstructure:"username"`
	Password  configopaque.String `mapstructure:"password"`
	// Version is the SASL handshake version, 0 or 1 (KIP-152).
	Version int `mapstructure:"version"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NewDefaultConfig returns the defaults of a `kafka` block; the receiver
// applies them whenever the block is present.
func NewDefaultConfig() *Config {
	return &Config{
		Brokers:              []string{"localhost:9092"},
		TopicRefreshInterval: 5 * time.Second,
		GroupID:              DefaultGroupID,
		InitialOffset:        OffsetLatest,
		ProtocolVersion:      "2.1.0",
		ClientID:             "otelcol-msgtrace",
		MaxBatchSize:         1000,
		SessionTimeout:       10 * time.Second,
		HeartbeatInterval:    3 * time.Second,
		CommitInterval:       time.Second,
		Consumers:            consumers.NewDefaultConfig(),
	}
}

// Validate checks the block.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: at least one broker is required"))
	}
	for _, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			errs = append(errs, errors.New("brokers: empty broker address"))
		}
	}
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("topics: at least one topic or ^regex is required"))
	}
	for _, t := range c.Topics {
		switch {
		case t == "":
			errs = append(errs, errors.New("topics: empty topic name"))
		case isPattern(t):
			if _, err := regexp.Compile(t); err != nil {
				errs = append(errs, fmt.Errorf("topics: invalid regular expression %q: %w", t, err))
			}
		}
	}
	if c.TopicRefreshInterval <= 0 {
		errs = append(errs, errors.New("topic_refresh_interval must be positive"))
	}
	if c.GroupID == "" {
		errs = append(errs, errors.New("group_id must not be empty"))
	}
	if c.InitialOffset != OffsetLatest && c.InitialOffset != OffsetEarliest {
		errs = append(errs, fmt.Errorf("initial_offset must be %q or %q, got %q", OffsetLatest, OffsetEarliest, c.InitialOffset))
	}
	if c.ProtocolVersion != "" {
		if _, err := sarama.ParseKafkaVersion(c.ProtocolVersion); err != nil {
			errs = append(errs, fmt.Errorf("protocol_version: %w", err))
		}
	}
	if c.MaxBatchSize < 1 {
		errs = append(errs, fmt.Errorf("max_batch_size must be at least 1, got %d", c.MaxBatchSize))
	}
	if c.MaxBatchSize > MaxBatchSizeLimit { // it also sizes sarama's per-partition buffer of whole records
		errs = append(errs, fmt.Errorf("max_batch_size must be at most %d, got %d", MaxBatchSizeLimit, c.MaxBatchSize))
	}
	if err := clienttls.Validate(c.TLS, ""); err != nil {
		errs = append(errs, err)
	}
	if c.SessionTimeout <= 0 || c.HeartbeatInterval <= 0 || c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, errors.New("heartbeat_interval and session_timeout must be positive, with heartbeat_interval < session_timeout"))
	}
	if c.CommitInterval <= 0 {
		errs = append(errs, errors.New("commit_interval must be positive"))
	}
	return errors.Join(errs...)
}

// MaxBatchSizeLimit bounds max_batch_size, which also sizes sarama's
// per-partition buffer: with several partitions claimed, each holds up to
// that many whole records (payloads included).
const MaxBatchSizeLimit = 10000

// Validate checks the SASL settings. The collector calls it for the nested
// block (xconfmap walks the config tree), so Config.Validate does not.
func (c *SASLConfig) Validate() error {
	switch c.Mechanism {
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
	default:
		return fmt.Errorf("mechanism must be %s, %s or %s, got %q", MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, c.Mechanism)
	}
	if c.Username == "" {
		return errors.New("username is required")
	}
	if c.Password == "" {
		return errors.New("password is required")
	}
	if c.Version != 0 && c.Version != 1 {
		return fmt.Errorf("version must be 0 or 1, got %d", c.Version)
	}
	return nil
}

// isPattern reports whether a topics entry is a regular expression.
func isPattern(topic string) bool { return strings.HasPrefix(topic, "^") }
