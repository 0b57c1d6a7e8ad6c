package sourcetest

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// StatusHost is a component host that records the status events reported to it.
type StatusHost struct {
	component.Host
	mu     sync.Mutex
	events []componentstatus.Status
}

var _ componentstatus.Reporter = (*StatusHost)(nil)

// NewStatusHost returns a host with no events yet.
func NewStatusHost() *StatusHost { return &StatusHost{Host: componenttest.NewNopHost()} }

// Report records e's status.
func (h *StatusHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e.Status())
}

// Reported tells whether status was ever reported, and whether it is the
// latest status.
func (h *StatusHost) Reported(status componentstatus.Status) (ever, last bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.events {
		ever = ever || s == status
	}
	return ever, len(h.events) > 0 && h.events[len(h.events)-1] == status
}

// Start starts src with a new StatusHost, kept in rec.Status.
func Start(t testing.TB, src message.Source, rec *Recorder) {
	t.Helper()
	rec.Status = NewStatusHost()
	require.NoError(t, src.Start(context.Background(), rec.Status))
}

// Shutdown stops src within WaitLimit.
func Shutdown(t testing.TB, src message.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	require.NoError(t, src.Shutdown(ctx))
}
