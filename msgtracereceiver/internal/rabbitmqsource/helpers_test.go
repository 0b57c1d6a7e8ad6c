package rabbitmqsource

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
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

const brokerAddr = "127.0.0.1:5672"

// waitLimit bounds how long a test waits for the tap to see something; it
// is a deadline for a broken tap, not a measure of speed.
const waitLimit = 30 * time.Second

// requireBroker skips when the local RabbitMQ is not there, unless CI=true,
// where a missing broker fails the test.
func requireBroker(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", brokerAddr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ is not reachable on %s (CI=true): %v", brokerAddr, err)
		}
		t.Skipf("RabbitMQ is not reachable on %s: %v", brokerAddr, err)
	}
	c.Close()
}

// rabbitmqctl runs the broker's CLI, which the firehose and connection
// tests need (trace_on, close_connection); same skip/fail rule as the broker.
func rabbitmqctl(t *testing.T, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("rabbitmqctl not found (CI=true): %v", err)
		}
		t.Skipf("rabbitmqctl not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	require.NoError(t, err, "rabbitmqctl %v: %s", args, out)
	return out
}

var traceOnce sync.Once

// enableFirehose turns the firehose on for the default vhost (idempotent).
func enableFirehose(t *testing.T) {
	t.Helper()
	traceOnce.Do(func() { rabbitmqctl(t, "trace_on", "-p", "/") })
}

// closeConnection makes the broker close the connection advertising name,
// as an operator or a broker restart would.
func closeConnection(t *testing.T, name string) {
	t.Helper()
	var pid string
	require.Eventually(t, func() bool {
		// One line per connection: "<pid>\t[{client properties}]".
		out := rabbitmqctl(t, "list_connections", "pid", "client_properties", "-q", "--no-table-headers")
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.Contains(line, name) {
				pid = f[0]
				return true
			}
		}
		return false
	}, waitLimit, 200*time.Millisecond, "connection %q not listed", name)
	rabbitmqctl(t, "close_connection", pid, "msgtrace test: connection killed")
}

func unique(prefix string) string { return prefix + "-" + strings.ToLower(rand.Text()[:10]) }

// producer is the application side of a test.
type producer struct {
	conn *amqp.Connection
	ch   *amqp.Channel
}

func newProducer(t *testing.T) *producer {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@" + brokerAddr + "/")
	require.NoError(t, err)
	ch, err := conn.Channel()
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &producer{conn: conn, ch: ch}
}

func (p *producer) publish(t *testing.T, exchange, key string, msg amqp.Publishing) {
	t.Helper()
	require.NoError(t, p.ch.PublishWithContext(context.Background(), exchange, key, false, false, msg))
}

// recorder is the test's pipeline: it records what the source delivers.
type recorder struct {
	// status is the host the source was started with.
	status  *statusHost
	mu      sync.Mutex
	batches [][]message.Message
	faults  []string
	// block, when set, makes Deliver wait for ctx to end: a pipeline that
	// never accepts, to check nothing is acknowledged.
	block bool
}

func (r *recorder) Deliver(ctx context.Context, msgs []message.Message) error {
	r.mu.Lock()
	block := r.block
	r.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
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

// byID returns the recorded messages by messaging.message.id.
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

// startSource starts a source with a connection name of the test's own.
func startSource(t *testing.T, cfg *Config, rec *recorder) (message.Source, string) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	src, err := New(cfg, message.Settings{Logger: zaptest.NewLogger(t), Telemetry: rec, Deliver: rec.Deliver})
	require.NoError(t, err)
	name := unique("msgtrace-test")
	src.(*source).connName = name
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

// waitTapping publishes probes named prefix-N until the tap sees one: the
// source connects in the background, and what is published before its
// queue is bound is not seen.
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
