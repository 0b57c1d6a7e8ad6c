package redissource

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const serverAddr = sourcetest.RedisAddr

func requireServer(t *testing.T) { sourcetest.RequireReachable(t, "Redis", serverAddr) }

// producer is the application side of a test.
func producer(t *testing.T) *sourcetest.Redis { return sourcetest.RedisClient(t, serverAddr) }

// startSource starts a source whose connections carry a name of the test's
// own, which it returns; tune, if any, changes the source before it starts.
func startSource(t *testing.T, cfg *Config, rec *sourcetest.Recorder, tune ...func(*source)) (message.Source, string) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	src, err := New(cfg, rec.Settings(t))
	require.NoError(t, err)
	name := sourcetest.Unique("msgtrace-test")
	src.(*source).clientName = name
	for _, f := range tune {
		f(src.(*source))
	}
	sourcetest.Start(t, src, rec)
	return src, name
}
