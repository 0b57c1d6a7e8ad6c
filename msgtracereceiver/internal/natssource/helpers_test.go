package natssource

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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

const serverAddr = "127.0.0.1:4222"

// waitLimit bounds how long a test waits for the tap to see something; it
// is a deadline for a broken tap, not a measure of speed.
const waitLimit = 30 * time.Second

// requireServer skips when the local NATS server is not there, unless
// CI=true, where a missing server fails the test.
func requireServer(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", serverAddr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("NATS is not reachable on %s (CI=true): %v", serverAddr, err)
		}
		t.Skipf("NATS is not reachable on %s: %v", serverAddr, err)
	}
	c.Close()
}

func unique(prefix string) string { return prefix + "_" + strings.ToLower(rand.Text()[:10]) }

// producer is the application side of a test, connected directly.
func producer(t *testing.T) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect("nats://" + serverAddr)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// proxy is a TCP proxy to the server whose connections a test can cut, as
// a network failure or a server restart would.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

// startProxy listens on addr ("127.0.0.1:0" for any port).
func startProxy(t *testing.T, addr string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	p := &proxy{l: l, target: serverAddr}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "nats://" + p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// cut closes every connection through the proxy; new ones are accepted.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) close() {
	p.l.Close()
	p.cut()
	p.wg.Wait()
}

// recorder is the test's pipeline: it records what the source delivers.
type recorder struct {
	// status is the host the source was started with.
	status  *statusHost
	mu      sync.Mutex
	batches [][]message.Message
	faults  []string
	lag     map[string]int64
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

func (r *recorder) Lag(_ context.Context, _, destination string, lag int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lag == nil {
		r.lag = map[string]int64{}
	}
	r.lag[destination] = lag
}

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

func startSource(t *testing.T, cfg *Config, rec *recorder) message.Source {
	t.Helper()
	require.NoError(t, cfg.Validate())
	src, err := New(cfg, message.Settings{Logger: zaptest.NewLogger(t), Telemetry: rec, Deliver: rec.Deliver})
	require.NoError(t, err)
	rec.status = newStatusHost()
	require.NoError(t, src.Start(context.Background(), rec.status))
	return src
}

func shutdown(t *testing.T, src message.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	require.NoError(t, src.Shutdown(ctx))
}

// waitTapping publishes probes named prefix-N until the tap sees one: the
// source connects in the background, and core NATS keeps nothing for a
// subscriber that is not there yet.
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
