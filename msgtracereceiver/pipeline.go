package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"

import (
	"context"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v7"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// obsFormat is the format reported to ObsReport: spans built from messages.
const obsFormat = "messages"

// pipeline is the path of one messaging system's messages: spans are built,
// handed to the next consumer under ObsReport, and retried until accepted.
// Its deliver method is the system's message.Deliver.
type pipeline struct {
	system string
	next   consumer.Traces
	model  *spanmodel.Builder
	obs    *receiverhelper.ObsReport
	retry  configretry.BackOffConfig
	tel    *telemetry
	logger *zap.Logger
	// includeBaggage is include_baggage; when false, baggage is not read.
	includeBaggage bool
}

var _ message.Deliver = (*pipeline)(nil).deliver

// deliver implements message.Deliver: nil once msgs may be acknowledged.
func (p *pipeline) deliver(ctx context.Context, msgs []message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	p.tel.observed(ctx, p.system, msgs)
	if !p.includeBaggage {
		// Cleared in place: a source rebuilds its messages for every call.
		for i := range msgs {
			msgs[i].Baggage = ""
		}
	}
	td, faults := p.model.Build(msgs)
	faults.Each(func(kind string, n int) { p.tel.faults(ctx, p.system, kind, n) })
	spans := td.SpanCount()
	if spans == 0 { // all sampled out
		return nil
	}
	var (
		bo    *backoff.ExponentialBackOff
		start = time.Now()
	)
	for attempt := 1; ; attempt++ {
		octx := p.obs.StartTracesOp(ctx)
		err := p.next.ConsumeTraces(octx, td)
		p.obs.EndTracesOp(octx, obsFormat, spans, err)
		if err == nil {
			return nil
		}
		if consumererror.IsPermanent(err) {
			p.drop(ctx, dropPermanent, len(msgs), spans, err)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: spans not delivered before the source stopped: %w", p.system, ctx.Err())
		}
		if !p.retry.Enabled {
			p.drop(ctx, dropRetryDisabled, len(msgs), spans, err)
			return nil
		}
		if bo == nil {
			bo = p.newBackOff()
		}
		wait := bo.NextBackOff()
		if p.retry.MaxElapsedTime > 0 && time.Since(start)+wait > p.retry.MaxElapsedTime {
			p.drop(ctx, dropRetryExhaust, len(msgs), spans, err)
			return nil
		}
		p.logger.Warn("next consumer refused spans, retrying; messages stay unacknowledged",
			zap.Error(err), zap.Int("messages", len(msgs)), zap.Int("attempt", attempt), zap.Duration("backoff", wait))
		if !message.Sleep(ctx, wait) {
			return fmt.Errorf("%s: spans not delivered before the source stopped: %w", p.system, ctx.Err())
		}
		// A consumer that failed may have changed td on the way; build afresh
		// (the same messages give the same spans) and count faults only once.
		td, _ = p.model.Build(msgs)
	}
}

func (p *pipeline) drop(ctx context.Context, reason string, msgs, spans int, err error) {
	p.tel.Dropped(ctx, p.system, reason, int64(msgs))
	p.logger.Error("spans dropped, messages acknowledged",
		zap.String("reason", reason), zap.Error(err), zap.Int("messages", msgs), zap.Int("spans", spans))
}

func (p *pipeline) newBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.retry.InitialInterval
	b.RandomizationFactor = p.retry.RandomizationFactor
	b.Multiplier = p.retry.Multiplier
	b.MaxInterval = p.retry.MaxInterval
	b.Reset()
	return b
}
