package kafkasource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Helpers of the security and bad-input tests, which run the Source against
// an in-process kfake cluster and watch what it logs.

const (
	testClusterID = "kfake-security"
	waitFor       = 30 * time.Second
	tick          = 20 * time.Millisecond
)

// verifyNoLeaks checks, after every other cleanup of the test (kfake, clients,
// the source), that no goroutine is left behind.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		// sarama's metrics registry starts a meter ticker per client.
		goleak.VerifyNone(t, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
	})
}

// testCA is a self-signed certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serverConfig issues a certificate for 127.0.0.1 and localhost and returns
// the listener's TLS configuration.
func (ca *testCA) serverConfig(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kfake"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	}
}

// pool is the CA as a trust pool, for the test's own producer.
func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// file writes the CA's PEM where a ca_file setting can point.
func (ca *testCA) file(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, ca.pem, 0o600))
	return path
}

func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.ClusterID(testClusterID)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// produce writes recs through a franz-go client built with opts.
func produce(t *testing.T, addrs []string, opts []kgo.Opt, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
}

// testConfig taps topic from the start, with short intervals.
func testConfig(addrs []string, topic string) *Config {
	cfg := NewDefaultConfig()
	cfg.Brokers = addrs
	cfg.Topics = []string{topic}
	cfg.InitialOffset = OffsetEarliest
	cfg.CommitInterval = 20 * time.Millisecond
	cfg.TopicRefreshInterval = 100 * time.Millisecond
	return cfg
}

// sink collects what the source delivers and the faults it counts.
type sink struct {
	mu     sync.Mutex
	msgs   []message.Message
	faults map[string]int
}

func (s *sink) deliver(_ context.Context, msgs []message.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		// The contract lets a source reuse msgs and their attributes.
		m.Attributes = slices.Clone(m.Attributes)
		s.msgs = append(s.msgs, m)
	}
	return nil
}

func (s *sink) Fault(_ context.Context, system, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[system+"/"+kind]++
}

func (*sink) Lag(context.Context, string, string, int64) {}

func (*sink) Dropped(context.Context, string, string, int64) {}

func (s *sink) messages() []message.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func (s *sink) faultCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.faults))
	for k, v := range s.faults {
		out[k] = v
	}
	return out
}

// statusHost records the component statuses a source reports.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func (h *statusHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

func (h *statusHost) last() *componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return nil
	}
	return h.events[len(h.events)-1]
}

// running is a started Source with everything it logs, at every level.
type running struct {
	sink *sink
	host *statusHost
	logs *observer.ObservedLogs
}

// startSource starts a Source on cfg; it is shut down when the test ends.
func startSource(t *testing.T, cfg *Config) *running {
	t.Helper()
	require.NoError(t, cfg.Validate())
	if cfg.Auth.SASL != nil {
		require.NoError(t, cfg.Auth.SASL.Validate())
	}
	core, logs := observer.New(zapcore.DebugLevel)
	r := &running{sink: &sink{faults: map[string]int{}}, host: &statusHost{Host: componenttest.NewNopHost()}, logs: logs}
	src, err := New(cfg, message.Settings{Logger: zap.New(core), Telemetry: r.sink, Deliver: r.sink.deliver})
	require.NoError(t, err)
	require.NoError(t, src.Start(context.Background(), r.host))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		assert.NoError(t, src.Shutdown(ctx))
	})
	return r
}

// assertNotLogged fails when any secret appears in any log line, message or
// field, at any level.
func assertNotLogged(t *testing.T, logs *observer.ObservedLogs, secrets ...string) {
	t.Helper()
	enc := zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig())
	for _, e := range logs.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		require.NoError(t, err)
		line := buf.String()
		buf.Free()
		for _, s := range secrets {
			assert.NotContains(t, line, s, "a log line reveals a secret")
		}
	}
}

// warnings returns the text of every warning and error logged so far.
func warnings(logs *observer.ObservedLogs) string {
	var b strings.Builder
	enc := zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig())
	for _, e := range logs.All() {
		if e.Level < zapcore.WarnLevel {
			continue
		}
		if buf, err := enc.EncodeEntry(e.Entry, e.Context); err == nil {
			b.WriteString(buf.String())
			buf.Free()
		}
	}
	return b.String()
}
