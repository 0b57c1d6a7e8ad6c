package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
)

// faultKind names a problem with baggage read from a span, a link or a
// request: the values of the `fault` attribute of the faults metric.
type faultKind uint8

const (
	faultMalformed faultKind = iota
	faultBadEncoding
	faultBadProperties
	faultMemberTooLong
	faultTooManyMembers
	faultTruncated
	faultEmptyKey
	numFaults
)

var faultNames = [numFaults]string{"malformed", "bad_encoding", "bad_properties", "member_too_long", "too_many_members", "truncated", "empty_key"}

// counts is what one request did. It is recorded as metrics once, at the end
// of the request, so the per-span path never touches the meter.
type counts struct {
	faults     [numFaults]int64
	dropped    [numReasons]int64
	redacted   int64
	batchSpans int64
	promoted   int64
	conflicts  int64
}

func (c *counts) addFaults(f baggage.Faults) {
	c.faults[faultMalformed] += int64(f.Malformed)
	c.faults[faultBadEncoding] += int64(f.BadEncoding)
	c.faults[faultBadProperties] += int64(f.BadProperties)
	c.faults[faultMemberTooLong] += int64(f.MemberTooLong)
	c.faults[faultTooManyMembers] += int64(f.TooManyMembers)
	if f.Truncated {
		c.faults[faultTruncated]++
	}
}

func (c *counts) anyFault() bool {
	for _, n := range c.faults {
		if n > 0 {
			return true
		}
	}
	return false
}

// telemetry records counts through the mdatagen builder, with the attribute
// sets built once.
type telemetry struct {
	builder   *metadata.TelemetryBuilder
	logger    *zap.Logger
	faults    [numFaults]metric.AddOption
	dropped   [numReasons]metric.AddOption
	promoted  metric.AddOption
	conflicts metric.AddOption
}

func newTelemetry(builder *metadata.TelemetryBuilder, logger *zap.Logger) *telemetry {
	t := &telemetry{builder: builder, logger: logger}
	for i, name := range faultNames {
		t.faults[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("fault", name)))
	}
	for i, name := range reasonNames {
		t.dropped[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", name)))
	}
	t.promoted = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "promoted")))
	t.conflicts = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "conflict")))
	return t
}

func (t *telemetry) record(ctx context.Context, c *counts) {
	for i, n := range c.faults {
		if n > 0 {
			t.builder.ProcessorBaggageFaults.Add(ctx, n, t.faults[i])
		}
	}
	for i, n := range c.dropped {
		if n > 0 {
			t.builder.ProcessorBaggageEntriesDropped.Add(ctx, n, t.dropped[i])
		}
	}
	if c.redacted > 0 {
		t.builder.ProcessorBaggageEntriesRedacted.Add(ctx, c.redacted)
	}
	if c.batchSpans > 0 {
		t.builder.ProcessorBaggageBatchSpans.Add(ctx, c.batchSpans)
	}
	if c.promoted > 0 {
		t.builder.ProcessorBaggagePromotions.Add(ctx, c.promoted, t.promoted)
	}
	if c.conflicts > 0 {
		t.builder.ProcessorBaggagePromotions.Add(ctx, c.conflicts, t.conflicts)
	}
	if c.anyFault() {
		// Counts only: baggage values can be personal data and are never logged.
		if ce := t.logger.Check(zapcore.DebugLevel, "malformed baggage in a request"); ce != nil {
			fields := make([]zap.Field, 0, numFaults)
			for i, n := range c.faults {
				if n > 0 {
					fields = append(fields, zap.Int64(faultNames[i], n))
				}
			}
			ce.Write(fields...)
		}
	}
}
