package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcessRSSAndLogs(t *testing.T) {
	p, err := StartProcess(ProcessConfig{
		Binary:  "/bin/sh",
		Args:    []string{"-c", `echo first; sleep 0.3; echo second; sleep 30`},
		LogPath: filepath.Join(t.TempDir(), "log"),
	})
	require.NoError(t, err)
	defer p.Kill()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.WaitLog(ctx, "first"))
	mark := p.LogSize()
	assert.Positive(t, mark)
	require.NoError(t, p.WaitLogFrom(ctx, mark, "second"))
	assert.True(t, p.LogContains("first"))

	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	err = p.WaitLogFrom(short, mark, "first")
	assert.ErrorIs(t, err, context.DeadlineExceeded, "only what was logged after the mark counts")

	rss, err := p.RSS()
	require.NoError(t, err)
	peak, err := p.PeakRSS()
	require.NoError(t, err)
	assert.Positive(t, rss)
	assert.GreaterOrEqual(t, peak, rss)

	_, err = procStatusBytes(os.Getpid(), "VmNoSuchField")
	assert.ErrorContains(t, err, "no VmNoSuchField line")
}

func TestWaitLogFailsWhenProcessExits(t *testing.T) {
	p, err := StartProcess(ProcessConfig{
		Binary:  "/bin/sh",
		Args:    []string{"-c", "echo something else; exit 2"},
		LogPath: filepath.Join(t.TempDir(), "log"),
	})
	require.NoError(t, err)
	err = p.WaitLog(context.Background(), "never logged")
	assert.ErrorContains(t, err, "exited")
	assert.ErrorContains(t, err, "something else")
}
