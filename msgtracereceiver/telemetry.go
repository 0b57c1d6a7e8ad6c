package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
)

// Attribute keys of the receiver's own metrics that semconv does not name.
const (
	attrFaultKind    = attribute.Key("kind")
	attrDropReason   = attribute.Key("reason")
	attrSubscription = attribute.Key("subscription")
)

// Reasons for msgtrace_receiver_messages_dropped given by the pipeline; the
// sources' own (message.DropTapBehind) are beside message.Telemetry.
const (
	dropPermanent     = message.DropPermanentError
	dropRetryDisabled = message.DropRetryDisabled
	dropRetryExhaust  = message.DropRetryExhausted
)

// telemetry records the receiver's own metrics; every source reports
// through it (message.Telemetry) so that all share the same names.
type telemetry struct {
	tb *metadata.TelemetryBuilder
}

var (
	_ message.Telemetry       = (*telemetry)(nil)
	_ message.PartitionLagger = (*telemetry)(nil)
)

// Fault implements message.Telemetry.
func (t *telemetry) Fault(ctx context.Context, system, kind string) {
	t.faults(ctx, system, kind, 1)
}

func (t *telemetry) faults(ctx context.Context, system, kind string, n int) {
	t.tb.MsgtraceReceiverFaults.Add(ctx, int64(n), metric.WithAttributes(
		semconv.MessagingSystemKey.String(system), attrFaultKind.String(kind)))
}

// Lag implements message.Telemetry.
func (t *telemetry) Lag(ctx context.Context, system, destination string, lag int64) {
	t.tb.MsgtraceReceiverLag.Record(ctx, lag, metric.WithAttributes(
		semconv.MessagingSystemKey.String(system), semconv.MessagingDestinationNameKey.String(destination)))
}

// PartitionLag implements message.PartitionLagger.
func (t *telemetry) PartitionLag(ctx context.Context, system, destination, partition string, lag int64) {
	t.tb.MsgtraceReceiverLag.Record(ctx, lag, metric.WithAttributes(
		semconv.MessagingSystemKey.String(system), semconv.MessagingDestinationNameKey.String(destination),
		semconv.MessagingDestinationPartitionIDKey.String(partition)))
}

// observed counts messages read, per configured subscription (never per
// destination: a subject behind `>` or a channel behind a pattern would make
// a series per value). msgs of one Deliver call usually share it, so this
// records once per run of equal subscriptions.
func (t *telemetry) observed(ctx context.Context, system string, msgs []message.Message) {
	for i := 0; i < len(msgs); {
		j := i + 1
		for j < len(msgs) && msgs[j].Subscription == msgs[i].Subscription {
			j++
		}
		t.tb.MsgtraceReceiverMessagesObserved.Add(ctx, int64(j-i), metric.WithAttributes(
			semconv.MessagingSystemKey.String(system), attrSubscription.String(msgs[i].Subscription)))
		i = j
	}
}

// Dropped implements message.Telemetry.
func (t *telemetry) Dropped(ctx context.Context, system, reason string, n int64) {
	t.tb.MsgtraceReceiverMessagesDropped.Add(ctx, n, metric.WithAttributes(
		semconv.MessagingSystemKey.String(system), attrDropReason.String(reason)))
}
