package sourcetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// WaitLimit bounds how long a test waits for a tap to see something; it is
// a deadline for a broken tap, not a measure of speed.
const WaitLimit = 30 * time.Second

// Recorder is a test's pipeline and telemetry: it records what a source
// delivers and the faults and lag it reports.
type Recorder struct {
	// Block, set before the source starts, makes Deliver wait for its
	// context to end: a pipeline that never accepts, to check that nothing
	// is acknowledged.
	Block bool
	// Status is the host the source was started with (see Start).
	Status *StatusHost

	mu      sync.Mutex
	batches [][]message.Message
	faults  []string
	lag     map[string]int64
	dropped map[string]int64
}

var _ message.Telemetry = (*Recorder)(nil)

// Settings returns the settings a source is created with: a test logger,
// r as telemetry and r.Deliver as the pipeline.
func (r *Recorder) Settings(t testing.TB) message.Settings {
	return message.Settings{Logger: zaptest.NewLogger(t), Telemetry: r, Deliver: r.Deliver}
}

// Deliver records msgs (a copy: sources may reuse the slice).
func (r *Recorder) Deliver(ctx context.Context, msgs []message.Message) error {
	if r.Block {
		<-ctx.Done()
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, append([]message.Message(nil), msgs...))
	return nil
}

// Fault records the kind of a wire fault.
func (r *Recorder) Fault(_ context.Context, _, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, kind)
}

// Dropped records n messages dropped for reason.
func (r *Recorder) Dropped(_ context.Context, _, reason string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dropped == nil {
		r.dropped = map[string]int64{}
	}
	r.dropped[reason] += n
}

// DroppedFor returns how many messages were dropped for reason so far.
func (r *Recorder) DroppedFor(reason string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped[reason]
}

// Lag records the latest lag reported for destination.
func (r *Recorder) Lag(_ context.Context, _, destination string, lag int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lag == nil {
		r.lag = map[string]int64{}
	}
	r.lag[destination] = lag
}

// Messages returns every message delivered so far, in order.
func (r *Recorder) Messages() []message.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []message.Message
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

// Faults returns the kinds of the faults reported so far, in order.
func (r *Recorder) Faults() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.faults...)
}

// Lags returns the latest lag reported per destination.
func (r *Recorder) Lags() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.lag))
	for k, v := range r.lag {
		out[k] = v
	}
	return out
}

// ByID returns the delivered messages by messaging.message.id.
func (r *Recorder) ByID() map[string][]message.Message {
	out := map[string][]message.Message{}
	for _, m := range r.Messages() {
		out[m.ID] = append(out[m.ID], m)
	}
	return out
}

// WaitIDs waits until a message with each of ids has been delivered.
func (r *Recorder) WaitIDs(t testing.TB, ids ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		got := r.ByID()
		for _, id := range ids {
			if len(got[id]) == 0 {
				return false
			}
		}
		return true
	}, WaitLimit, 50*time.Millisecond, "the tap did not see all of %d messages", len(ids))
}

// WaitTapping publishes probes until the tap delivers one (see Probe).
func (r *Recorder) WaitTapping(t testing.TB, prefix string, publish func(id string)) {
	t.Helper()
	Probe(t, prefix, publish, func() bool {
		for _, m := range r.Messages() {
			if strings.HasPrefix(m.ID, prefix+"-") {
				return true
			}
		}
		return false
	})
}
