package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaServerRestartKeepsData runs cmd/kfakeserver, stops it and starts
// it again on the same port and data directory: records and committed
// offsets survive, as the broker-outage test relies on.
func TestKafkaServerRestartKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, err := ModuleRoot(wd)
	require.NoError(t, err)
	dir := t.TempDir()
	bin, err := BuildKafkaServer(ctx, root, dir)
	require.NoError(t, err)
	ports, err := FreePorts(1)
	require.NoError(t, err)
	cfg := KafkaServerConfig{
		Binary:  bin,
		Port:    ports[0],
		Topics:  []Topic{{Name: "orders", Partitions: 2}},
		DataDir: filepath.Join(dir, "data"),
		LogPath: filepath.Join(dir, "kfake-1.log"),
	}
	srv, err := StartKafkaServer(ctx, cfg)
	require.NoError(t, err)
	defer srv.Kill()
	addr := srv.Addr()
	assert.Equal(t, fmt.Sprintf("127.0.0.1:%d", ports[0]), addr)

	k, err := ConnectKafka(addr)
	require.NoError(t, err)
	defer k.Close()
	require.NoError(t, k.Produce(ctx,
		&kgo.Record{Topic: "orders", Partition: 0, Value: []byte("a")},
		&kgo.Record{Topic: "orders", Partition: 0, Value: []byte("b")},
		&kgo.Record{Topic: "orders", Partition: 1, Value: []byte("c")},
	))
	committer, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer committer.Close()
	_, err = kadm.NewClient(committer).CommitOffsets(ctx, "tap", kadm.OffsetsFromRecords(kgo.Record{Topic: "orders", Partition: 0, Offset: 0}))
	require.NoError(t, err)
	committed, err := k.CommittedOffsets(ctx, "tap")
	require.NoError(t, err)
	assert.Equal(t, Offsets{"orders": {0: 1}}, committed)

	require.NoError(t, srv.Stop(30*time.Second))
	_, err = net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "the port refuses connections while the broker is down")

	cfg.Topics, cfg.LogPath = nil, filepath.Join(dir, "kfake-2.log")
	srv, err = StartKafkaServer(ctx, cfg)
	require.NoError(t, err)
	defer srv.Kill()
	ends, err := k.EndOffsets(ctx, "orders")
	require.NoError(t, err)
	assert.Equal(t, Offsets{"orders": {0: 2, 1: 1}}, ends, "records kept across the restart")
	committed, err = k.CommittedOffsets(ctx, "tap")
	require.NoError(t, err)
	assert.Equal(t, Offsets{"orders": {0: 1}}, committed, "committed offsets kept across the restart")
	require.NoError(t, srv.Stop(30*time.Second))
}

func TestKafkaServerFailsToStart(t *testing.T) {
	// The port is taken: the server exits, and StartKafkaServer says why.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, err := ModuleRoot(wd)
	require.NoError(t, err)
	dir := t.TempDir()
	bin, err := BuildKafkaServer(ctx, root, dir)
	require.NoError(t, err)
	_, err = StartKafkaServer(ctx, KafkaServerConfig{
		Binary:  bin,
		Port:    ln.Addr().(*net.TCPAddr).Port,
		LogPath: filepath.Join(dir, "kfake.log"),
	})
	require.ErrorContains(t, err, "address already in use")
}
