package e2e

// Setup shared by the crash and outage tests: a Kafka in a process of its
// own, the OTLP sink, and gateways that export to it.

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// kfakeserver is built at most once per test run, next to the gateway binary.
var kfakeserver struct {
	once sync.Once
	path string
	err  error
}

func kafkaServerBinary(t *testing.T) string {
	t.Helper()
	otelcolBinary(t) // creates binary.buildDir, which TestMain removes
	kfakeserver.once.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			kfakeserver.err = err
			return
		}
		root, err := harness.ModuleRoot(wd)
		if err != nil {
			kfakeserver.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
		defer cancel()
		kfakeserver.path, kfakeserver.err = harness.BuildKafkaServer(ctx, root, binary.buildDir)
	})
	require.NoError(t, kfakeserver.err)
	return kfakeserver.path
}

// startKafkaServer runs cmd/kfakeserver on port (0: a free one) and kills
// it with the test. name tells the log files of several runs apart.
func startKafkaServer(t *testing.T, name string, port int, dataDir string, topics ...harness.Topic) *harness.KafkaServer {
	t.Helper()
	if port == 0 {
		ports, err := harness.FreePorts(1)
		require.NoError(t, err)
		port = ports[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	srv, err := harness.StartKafkaServer(ctx, harness.KafkaServerConfig{
		Binary:  kafkaServerBinary(t),
		Port:    port,
		Topics:  topics,
		DataDir: dataDir,
		LogPath: filepath.Join(t.TempDir(), name+".log"),
	})
	require.NoError(t, err)
	t.Cleanup(srv.Kill)
	return srv
}

// connectKafka returns a producer and admin client for brokers, closed with the test.
func connectKafka(t *testing.T, brokers ...string) *harness.Kafka {
	t.Helper()
	k, err := harness.ConnectKafka(brokers...)
	require.NoError(t, err)
	t.Cleanup(k.Close)
	return k
}

// startSink starts an OTLP sink that hands every export to the ledger.
func startSink(t *testing.T, l *spanLedger) *harness.Sink {
	t.Helper()
	sink, err := harness.StartSink(l.record)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sink.Stop()) })
	return sink
}

// startSinkGateway runs otelcol-msg with testdata/<config>, exporting to
// sink; name tells its log (<dir>/<name>.log) from the other runs'. It is
// killed with the test if still running: tests that end it cleanly call Stop
// themselves and check the result.
func startSinkGateway(t *testing.T, config, dir, name string, brokers []string, sink *harness.Sink, args ...string) *harness.Gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	gw, err := harness.StartGateway(ctx, harness.GatewayConfig{
		Binary:     otelcolBinary(t),
		ConfigPath: testdataConfig(t, config),
		Brokers:    brokers,
		Dir:        dir,
		OutputName: name + ".json",
		Args:       args,
		Env:        []string{harness.EnvSinkEndpoint + "=" + sink.Endpoint()},
	})
	require.NoError(t, err)
	t.Cleanup(gw.Kill)
	return gw
}
