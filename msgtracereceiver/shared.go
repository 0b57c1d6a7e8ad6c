package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
)

// One receiver instance serves both signals of a component ID, as contrib's
// sharedcomponent does: the traces and metrics receivers of `msgtrace` in
// two pipelines are one tap of the brokers, whose spans go to the traces
// pipeline and whose consumer metrics (issue 14) go to the metrics one.

// sharedReceivers maps component IDs to their receiver while it lives. It
// belongs to one factory (no package state).
type sharedReceivers struct {
	mu   sync.Mutex
	byID map[component.ID]*sharedReceiver
}

// sharedReceiver is the receiver of one component ID and the slots its
// signals are wired to as each pipeline asks for it.
type sharedReceiver struct {
	parent *sharedReceivers
	id     component.ID
	r      *msgtraceReceiver
	traces *tracesSlot

	startOnce, stopOnce sync.Once
	startErr, stopErr   error
}

// get returns the receiver of set.ID, creating it.
func (s *sharedReceivers) get(set receiver.Settings, cfg *Config) (*sharedReceiver, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sr, ok := s.byID[set.ID]; ok {
		return sr, nil
	}
	traces := &tracesSlot{}
	r, err := newReceiver(set, cfg, traces)
	if err != nil {
		return nil, err
	}
	sr := &sharedReceiver{parent: s, id: set.ID, r: r, traces: traces}
	if s.byID == nil {
		s.byID = map[component.ID]*sharedReceiver{}
	}
	s.byID[set.ID] = sr
	return sr, nil
}

// Start starts the receiver once, whichever signal's pipeline comes first.
func (sr *sharedReceiver) Start(ctx context.Context, host component.Host) error {
	sr.startOnce.Do(func() { sr.startErr = sr.r.Start(ctx, host) })
	return sr.startErr
}

// Shutdown stops the receiver once and forgets it, so that a later
// pipeline build (a config reload) gets a new one.
func (sr *sharedReceiver) Shutdown(ctx context.Context) error {
	sr.stopOnce.Do(func() {
		sr.parent.mu.Lock()
		delete(sr.parent.byID, sr.id)
		sr.parent.mu.Unlock()
		sr.stopErr = sr.r.Shutdown(ctx)
	})
	return sr.stopErr
}

// tracesSlot forwards to the traces pipeline once it is wired; without one
// (a metrics-only receiver) spans are dropped, as accepted.
type tracesSlot struct{ next consumer.Traces }

func (s *tracesSlot) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *tracesSlot) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if s.next == nil {
		return nil
	}
	return s.next.ConsumeTraces(ctx, td)
}

// metricsSlot forwards consumer metrics to the metrics pipeline once wired.
type metricsSlot struct{ next consumer.Metrics }

func (s *metricsSlot) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *metricsSlot) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if s.next == nil {
		return nil
	}
	return s.next.ConsumeMetrics(ctx, md)
}

// derived is where the sources send settle spans and consumer metrics.
func (r *msgtraceReceiver) derived() message.Derived {
	service := r.set.BuildInfo.Command
	if service == "" {
		service = defaultServiceName
	}
	return message.Derived{
		Traces:       r.next,
		Metrics:      &r.metricsOut,
		Creation:     r.model.Creation,
		ServiceName:  service,
		ScopeName:    metadata.ScopeName,
		ScopeVersion: r.set.BuildInfo.Version,
	}
}
