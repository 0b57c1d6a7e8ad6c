package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"
)

// WaitLog polls the process's log until it holds substr. It fails when the
// process exits first or ctx ends, quoting the end of the log.
func (p *Process) WaitLog(ctx context.Context, substr string) error {
	return p.WaitLogFrom(ctx, 0, substr)
}

// WaitLogFrom is WaitLog for the part of the log from byte offset from on
// (a LogSize taken earlier): what the process logged after some event.
func (p *Process) WaitLogFrom(ctx context.Context, from int64, substr string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.logContainsFrom(from, substr) {
			return nil
		}
		select {
		case <-p.done:
			if p.logContainsFrom(from, substr) {
				return nil
			}
			return fmt.Errorf("%s exited (%v) before logging %q; its log %s ends with:\n%s",
				p.cmd.Path, p.waitErr, substr, p.logPath, p.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("%s did not log %q: %w; its log %s ends with:\n%s",
				p.cmd.Path, substr, ctx.Err(), p.logPath, p.LogTail(20))
		case <-tick.C:
		}
	}
}

// LogContains reports whether the process's log holds substr so far.
func (p *Process) LogContains(substr string) bool { return p.logContainsFrom(0, substr) }

// LogSize is the length of the process's log so far, in bytes.
func (p *Process) LogSize() int64 {
	info, err := os.Stat(p.logPath)
	if err != nil {
		return 0
	}
	return info.Size()
}

func (p *Process) logContainsFrom(from int64, substr string) bool {
	data, err := os.ReadFile(p.logPath)
	if err != nil || int64(len(data)) < from {
		return false
	}
	return bytes.Contains(data[from:], []byte(substr))
}
