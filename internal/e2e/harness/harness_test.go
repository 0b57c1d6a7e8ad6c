package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func jsonLine(t *testing.T, names ...string) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for _, n := range names {
		spans.AppendEmpty().SetName(n)
	}
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	require.NoError(t, err)
	return append(b, '\n')
}

func spanNames(td ptrace.Traces) []string {
	var out []string
	for _, r := range Spans(td) {
		out = append(out, r.Span.Name())
	}
	return out
}

func TestTraceFileReadsCompleteLinesOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.json")
	f := NewTraceFile(path)
	n, err := f.Poll()
	require.NoError(t, err, "a file not written yet is empty")
	assert.Zero(t, n)

	third := jsonLine(t, "c")
	data := append(append(jsonLine(t, "a", "b"), jsonLine(t)...), third[:10]...)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	n, err = f.Poll()
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fh.Write(third[10:])
	require.NoError(t, err)
	require.NoError(t, fh.Close())
	n, err = f.Poll()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{"a", "b", "c"}, spanNames(f.Traces()))

	all, err := ReadTraces(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, spanNames(all))
}

func TestTraceFileErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.json")
	require.NoError(t, os.WriteFile(path, jsonLine(t, "a", "b"), 0o600))
	f := NewTraceFile(path)
	_, err := f.Poll()
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(path, []byte("{}\n"), 0o600))
	_, err = f.Poll()
	assert.ErrorContains(t, err, "shrank")

	require.NoError(t, os.WriteFile(path, []byte("not json\n"), 0o600))
	_, err = ReadTraces(path)
	assert.ErrorContains(t, err, "line 1")
}

func TestTraceFileWaitGivesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.json")
	require.NoError(t, os.WriteFile(path, jsonLine(t, "a"), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	f := NewTraceFile(path)
	err := f.Wait(ctx, func(td ptrace.Traces) bool { return td.SpanCount() >= 2 })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "1 spans arrived")
	require.NoError(t, f.Wait(context.Background(), func(td ptrace.Traces) bool { return td.SpanCount() == 1 }))
}

func TestKafkaProducesWhereAsked(t *testing.T) {
	k, err := StartKafka(Topic{Name: "orders", Partitions: 3})
	require.NoError(t, err)
	defer k.Close()
	recs := []*kgo.Record{
		{Topic: "orders", Partition: 2, Value: []byte("a"), Headers: []kgo.RecordHeader{Header("k", "v")}},
		{Topic: "orders", Partition: 2, Value: []byte("b")},
		{Topic: "orders", Partition: 0, Value: []byte("c")},
	}
	require.NoError(t, k.Produce(context.Background(), recs...))
	assert.Equal(t, []int32{2, 2, 0}, []int32{recs[0].Partition, recs[1].Partition, recs[2].Partition})
	assert.Equal(t, []int64{0, 1, 0}, []int64{recs[0].Offset, recs[1].Offset, recs[2].Offset})
	require.Len(t, k.Brokers(), 1)

	err = k.Produce(context.Background(), &kgo.Record{Topic: "orders", Partition: 7, Value: []byte("x")})
	assert.Error(t, err, "a partition that does not exist")
}

func TestProcessStop(t *testing.T) {
	dir := t.TempDir()
	// Exits 0 on SIGTERM, as the collector does.
	p, err := StartProcess(ProcessConfig{
		Binary:  "/bin/sh",
		Args:    []string{"-c", `trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done`},
		LogPath: filepath.Join(dir, "ok.log"),
	})
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // let the shell install its trap
	require.NoError(t, p.Stop(10*time.Second))
	assert.Equal(t, "up\nbye", p.LogTail(5))

	// Ignores SIGTERM: killed after the timeout, and Stop says so.
	p, err = StartProcess(ProcessConfig{
		Binary:  "/bin/sh",
		Args:    []string{"-c", `trap '' TERM; while :; do sleep 0.05; done`},
		LogPath: filepath.Join(dir, "stuck.log"),
	})
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond)
	assert.ErrorContains(t, p.Stop(300*time.Millisecond), "was killed")
}

func TestWaitHealthyFailsWhenProcessExits(t *testing.T) {
	p, err := StartProcess(ProcessConfig{
		Binary:  "/bin/sh",
		Args:    []string{"-c", "echo 'bad config' >&2; exit 3"},
		LogPath: filepath.Join(t.TempDir(), "log"),
	})
	require.NoError(t, err)
	ports, err := FreePorts(1)
	require.NoError(t, err)
	err = p.WaitHealthy(context.Background(), fmt.Sprintf("http://127.0.0.1:%d/", ports[0]))
	assert.ErrorContains(t, err, "exited before it was healthy")
	assert.ErrorContains(t, err, "bad config")
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := FreePorts(5)
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.False(t, seen[p], "port %d twice", p)
		seen[p] = true
	}
}

func TestModuleRoot(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, err := ModuleRoot(wd)
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "builder-config.yaml"))
	_, err = ModuleRoot(t.TempDir())
	assert.Error(t, err)
}
