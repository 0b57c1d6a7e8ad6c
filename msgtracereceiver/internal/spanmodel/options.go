package spanmodel // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"

import "fmt"

// Rebuild says when a `send <destination>` PRODUCER span is rebuilt for a message.
type Rebuild string

const (
	// RebuildMissing rebuilds only for messages without a valid traceparent.
	RebuildMissing Rebuild = "missing"
	// RebuildAlways rebuilds for every message; with a traceparent the
	// rebuilt span is a child of the producer's context.
	RebuildAlways Rebuild = "always"
	// RebuildNever never rebuilds; a message without context gets a
	// receive span that starts its own trace.
	RebuildNever Rebuild = "never"
)

// Receive says how receive spans are cut.
type Receive string

const (
	// ReceiveMessage emits one `receive` span per message.
	ReceiveMessage Receive = "message"
	// ReceiveBatch emits one `receive` span per delivered batch and
	// destination/partition, with one link per message.
	ReceiveBatch Receive = "batch"
)

// Correlation says how a per-message receive span refers to its message's
// creation context.
type Correlation string

const (
	// CorrelationParent makes the creation context the parent: the broker
	// hop shows inside the producer's trace.
	CorrelationParent Correlation = "parent"
	// CorrelationLink starts a trace of its own with a link to the creation
	// context (the semconv-pure form).
	CorrelationLink Correlation = "link"
)

// Validate checks the value.
func (r Rebuild) Validate() error {
	switch r {
	case RebuildMissing, RebuildAlways, RebuildNever:
		return nil
	}
	return fmt.Errorf("rebuild must be %q, %q or %q, got %q", RebuildMissing, RebuildAlways, RebuildNever, string(r))
}

// Validate checks the value.
func (r Receive) Validate() error {
	switch r {
	case ReceiveMessage, ReceiveBatch:
		return nil
	}
	return fmt.Errorf("receive must be %q or %q, got %q", ReceiveMessage, ReceiveBatch, string(r))
}

// Validate checks the value.
func (c Correlation) Validate() error {
	switch c {
	case CorrelationParent, CorrelationLink:
		return nil
	}
	return fmt.Errorf("correlation must be %q or %q, got %q", CorrelationParent, CorrelationLink, string(c))
}
