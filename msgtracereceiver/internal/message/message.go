// Package message holds the broker-neutral view of one observed message and
// the contract between a broker source and the receiver's pipeline.
//
// Each source (Kafka, RabbitMQ, NATS, Redis) only turns its client's records
// into Messages and calls Deliver; spans, sampling, baggage and
// acknowledgement rules live once, in the receiver.
package message

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
)

// Message is one message observed on a broker, reduced to what its spans need.
// The body is never kept: only its size.
type Message struct {
	// System is messaging.system: "kafka", "rabbitmq", "nats", "redis".
	System string
	// Destination is the topic, exchange, subject, channel or stream.
	Destination string
	// Subscription is the configured subscription that yielded the message
	// (Kafka topic name or ^regex, NATS subject filter or JetStream stream,
	// Redis channel, pattern or stream, RabbitMQ firehose event or bound
	// exchange). The receiver's own metrics are labelled with it, never with
	// Destination, so their series stay bounded by the configuration.
	Subscription string
	// Partition is messaging.destination.partition.id (Kafka partition,
	// JetStream has none); empty when the broker has no partitions.
	Partition string
	// Identity uniquely names the message on its broker (for Kafka
	// cluster/topic/partition/offset). Rebuilt trace and span IDs are hashed
	// from it, so a redelivered message rebuilds the same span.
	Identity string
	// ID is messaging.message.id, from the broker or a header; may be empty.
	ID string
	// ConversationID is messaging.message.conversation_id (FastStream's correlation_id).
	ConversationID string
	// Timestamp is the message's own time (producer or broker); zero if the
	// broker has none, and the observed time is used (not a fault). A source
	// that finds a damaged timestamp counts the fault and leaves it zero.
	Timestamp time.Time
	// Observed is when the gateway saw the message.
	Observed time.Time
	// BodySize is messaging.message.body.size in bytes.
	BodySize int
	// TraceParent, TraceState and Baggage are the raw W3C header values, as found.
	TraceParent string
	TraceState  string
	Baggage     string
	// ConsumerGroup is messaging.consumer.group.name where the system has
	// one (Kafka: the tap's own group); it also takes part in the receive
	// span IDs, so two taps of one message emit distinct receive spans.
	ConsumerGroup string
	// ServerAddress and ServerPort name the broker the message was read from.
	ServerAddress string
	ServerPort    int
	// Attributes are the system-specific semconv attributes (offset, routing
	// key, delivery tag, key, tombstone, ...), built with semconv helpers.
	Attributes []attribute.KeyValue
}

// Deliver hands messages observed together (one fetch from one destination
// or partition) to the receiver's pipeline. It is safe for concurrent use and
// does not keep msgs after it returns, so a source may reuse the slice.
//
// It returns nil once the messages may be acknowledged: their spans were
// accepted by the next consumer, or refused permanently (and counted).
// Retryable refusals are retried inside Deliver with backoff. A non-nil error
// means ctx ended before that: the source must not acknowledge, so the
// messages are read again after a restart (at least once).
type Deliver func(ctx context.Context, msgs []Message) error

// Source taps one broker.
type Source interface {
	// Start connects in the background and returns at once: a broker that is
	// down is reported and retried with backoff, never fatal to the collector.
	Start(ctx context.Context, host component.Host) error
	// Shutdown stops reading, acknowledges what was delivered and returns
	// once every goroutine of the source has ended or ctx is done.
	Shutdown(ctx context.Context) error
}

// Telemetry records a source's own metrics; the receiver implements it so
// every source reports under the same names.
type Telemetry interface {
	// Fault counts a problem with one message's wire data (kind names it:
	// "envelope", "header", "timestamp", ...). The message still yields spans.
	Fault(ctx context.Context, system, kind string)
	// Lag records how many messages the tap is behind on a destination
	// (partition or stream), where the broker can tell.
	Lag(ctx context.Context, system, destination string, lag int64)
	// Dropped counts n messages that yield no span (reason names why:
	// DropTapBehind). Not a wire fault: nothing was wrong with them.
	Dropped(ctx context.Context, system, reason string, n int64)
}

// Reasons of Telemetry.Dropped (msgtrace_receiver_messages_dropped).
const (
	// DropTapBehind: the tap dropped the message before building its spans
	// because its bounded queue was full (NATS core, which has no flow
	// control).
	DropTapBehind = "tap_behind"
	// DropPermanentError, DropRetryDisabled, DropRetryExhausted: the
	// message was acknowledged although the pipeline did not accept its
	// spans (a permanent error; a retryable one with retries off, or past
	// retry_on_failure::max_elapsed_time).
	DropPermanentError = "permanent_error"
	DropRetryDisabled  = "retry_disabled"
	DropRetryExhausted = "retry_exhausted"
)

// PartitionLagger is implemented by the receiver's Telemetry for sources of
// partitioned systems (Kafka), whose lag is per partition.
type PartitionLagger interface {
	PartitionLag(ctx context.Context, system, destination, partition string, lag int64)
}

// Settings is what the receiver hands every source.
type Settings struct {
	// Logger is the receiver's logger, named after the source.
	Logger *zap.Logger
	// Telemetry records the source's own metrics.
	Telemetry Telemetry
	// Deliver hands observed messages to the pipeline.
	Deliver Deliver
	// Derived receives settle spans and consumer metrics (package consumers).
	Derived Derived
}
