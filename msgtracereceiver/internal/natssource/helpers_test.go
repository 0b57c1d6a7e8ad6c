package natssource

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const serverAddr = sourcetest.NATSAddr

func requireServer(t *testing.T) { sourcetest.RequireReachable(t, "NATS", serverAddr) }

// producer is the application side of a test, connected directly.
func producer(t *testing.T) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect("nats://" + serverAddr)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// startProxy starts a proxy to the server on addr ("127.0.0.1:0" for any port).
func startProxy(t *testing.T, addr string) *sourcetest.Proxy {
	t.Helper()
	return sourcetest.StartProxy(t, addr, serverAddr)
}

func startSource(t *testing.T, cfg *Config, rec *sourcetest.Recorder) message.Source {
	t.Helper()
	require.NoError(t, cfg.Validate())
	src, err := New(cfg, rec.Settings(t))
	require.NoError(t, err)
	sourcetest.Start(t, src, rec)
	return src
}
