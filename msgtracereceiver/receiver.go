package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// defaultServiceName is service.name of the spans when the build names no command.
const defaultServiceName = "otelcol-msg"

// msgtraceReceiver owns the sources and the pipelines they deliver to.
type msgtraceReceiver struct {
	cfg   *Config
	set   receiver.Settings
	next  consumer.Traces
	model *spanmodel.Builder
	tel   *telemetry
	// metricsOut is the metrics pipeline of settle metrics (shared.go).
	metricsOut metricsSlot
	sources    []namedSource
	started    []namedSource
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Traces) (*msgtraceReceiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("msgtrace telemetry: %w", err)
	}
	service := set.BuildInfo.Command
	if service == "" {
		service = defaultServiceName
	}
	r := &msgtraceReceiver{
		cfg:  cfg,
		set:  set,
		next: next,
		tel:  &telemetry{tb: tb},
		model: spanmodel.New(spanmodel.Options{
			Rebuild:       cfg.Spans.Rebuild,
			Receive:       cfg.Spans.Receive,
			Correlation:   cfg.Spans.Correlation,
			SamplingRatio: cfg.Sampling.Ratio,
			ServiceName:   service,
			ScopeName:     metadata.ScopeName,
			ScopeVersion:  set.BuildInfo.Version,
			Logger:        set.Logger,
		}),
	}
	if r.sources, err = newSources(cfg, r.settingsFor); err != nil {
		tb.Shutdown()
		return nil, err
	}
	return r, nil
}

// settingsFor wires one messaging system: its logger, its ObsReport
// (transport = the system) and its pipeline.
func (r *msgtraceReceiver) settingsFor(system string) (message.Settings, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             r.set.ID,
		Transport:              system,
		ReceiverCreateSettings: r.set,
	})
	if err != nil {
		return message.Settings{}, fmt.Errorf("msgtrace obsreport for %s: %w", system, err)
	}
	logger := r.set.Logger.With(zap.String("source", system))
	p := &pipeline{
		system: system,
		next:   r.next,
		model:  r.model,
		obs:    obs,
		retry:  r.cfg.RetryOnFailure,
		tel:    r.tel,
		logger: logger,

		includeBaggage: r.cfg.IncludeBaggage,
	}
	return message.Settings{Logger: logger, Telemetry: r.tel, Deliver: p.deliver, Derived: r.derived()}, nil
}

// Start starts every source. Sources connect in the background, so only a
// configuration error (a TLS file that cannot be read) fails Start.
func (r *msgtraceReceiver) Start(ctx context.Context, host component.Host) error {
	// One status per source; the host sees the worst (status.go).
	status := newSourceStatus(host)
	for _, s := range r.sources {
		if err := s.Start(ctx, status.hostFor(s.system)); err != nil {
			return errors.Join(err, r.Shutdown(ctx))
		}
		r.started = append(r.started, s)
	}
	return nil
}

// Shutdown stops every started source; each commits what was delivered.
func (r *msgtraceReceiver) Shutdown(ctx context.Context) error {
	var errs []error
	for _, s := range r.started {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	r.started = nil
	r.tel.tb.Shutdown()
	return errors.Join(errs...)
}
