package redissource

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const serverAddr = "127.0.0.1:6379"

// waitLimit bounds how long a test waits for the tap to see something; it
// is a deadline for a broken tap, not a measure of speed.
const waitLimit = 30 * time.Second

// requireServer skips when the local Redis is not there, unless CI=true,
// where a missing server fails the test.
func requireServer(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", serverAddr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is not reachable on %s (CI=true): %v", serverAddr, err)
		}
		t.Skipf("Redis is not reachable on %s: %v", serverAddr, err)
	}
	c.Close()
}

func unique(prefix string) string { return prefix + ":" + strings.ToLower(rand.Text()[:10]) }

// producer is the application side of a test.
func producer(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                     serverAddr,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// killClients closes every server connection named name, as CLIENT KILL by
// an operator or a failover would.
func killClients(t *testing.T, c *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	var killed int
	require.Eventually(t, func() bool {
		list, err := c.ClientList(ctx).Result()
		require.NoError(t, err)
		for _, line := range strings.Split(list, "\n") {
			if !strings.Contains(line, " name="+name+" ") {
				continue
			}
			for _, f := range strings.Fields(line) {
				if id, ok := strings.CutPrefix(f, "id="); ok {
					require.NoError(t, c.Do(ctx, "CLIENT", "KILL", "ID", id).Err())
					killed++
				}
			}
		}
		return killed > 0
	}, waitLimit, 100*time.Millisecond, "no connection named %s", name)
}

// recorder is the test's pipeline: it records what the source delivers.
type recorder struct {
	// status is the host the source was started with.
	status  *statusHost
	mu      sync.Mutex
	batches [][]message.Message
	faults  []string
}

func (r *recorder) Deliver(_ context.Context, msgs []message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, append([]message.Message(nil), msgs...))
	return nil
}

func (r *recorder) Fault(_ context.Context, _, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, kind)
}

func (*recorder) Lag(context.Context, string, string, int64) {}

func (r *recorder) messages() []message.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []message.Message
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

func (r *recorder) byID() map[string][]message.Message {
	out := map[string][]message.Message{}
	for _, m := range r.messages() {
		out[m.ID] = append(out[m.ID], m)
	}
	return out
}

// waitIDs waits until every id has been recorded.
func (r *recorder) waitIDs(t *testing.T, ids ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		got := r.byID()
		for _, id := range ids {
			if len(got[id]) == 0 {
				return false
			}
		}
		return true
	}, waitLimit, 50*time.Millisecond, "the tap did not see all of %d messages", len(ids))
}

// startSource starts a source whose connections carry a name of the test's own.
func startSource(t *testing.T, cfg *Config, rec *recorder) (message.Source, string) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	src, err := New(cfg, message.Settings{Logger: zaptest.NewLogger(t), Telemetry: rec, Deliver: rec.Deliver})
	require.NoError(t, err)
	name := strings.ReplaceAll(unique("msgtrace-test"), ":", "-")
	src.(*source).clientName = name
	rec.status = newStatusHost()
	require.NoError(t, src.Start(context.Background(), rec.status))
	return src, name
}

func shutdown(t *testing.T, src message.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	require.NoError(t, src.Shutdown(ctx))
}

// waitTapping publishes probes named prefix-N until the tap sees one:
// Pub/Sub keeps nothing for a subscriber that is not there yet.
func waitTapping(t *testing.T, rec *recorder, prefix string, publish func(id string)) {
	t.Helper()
	var n int
	require.Eventually(t, func() bool {
		n++
		publish(fmt.Sprintf("%s-%d", prefix, n))
		for _, m := range rec.messages() {
			if strings.HasPrefix(m.ID, prefix+"-") {
				return true
			}
		}
		return false
	}, waitLimit, 100*time.Millisecond, "the tap never saw a %s message", prefix)
}

// statusHost records the component status events a source reports.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []componentstatus.Status
}

func newStatusHost() *statusHost { return &statusHost{Host: componenttest.NewNopHost()} }

func (h *statusHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e.Status())
}

// reported reports whether status was reported, and last whether it is the latest.
func (h *statusHost) reported(status componentstatus.Status) (ever, last bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.events {
		ever = ever || s == status
	}
	return ever, len(h.events) > 0 && h.events[len(h.events)-1] == status
}
