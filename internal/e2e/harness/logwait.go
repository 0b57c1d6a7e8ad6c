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
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.LogContains(substr) {
			return nil
		}
		select {
		case <-p.done:
			if p.LogContains(substr) {
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
func (p *Process) LogContains(substr string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && bytes.Contains(data, []byte(substr))
}
