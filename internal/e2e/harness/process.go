package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ProcessConfig says how to run the otelcol-msg binary.
type ProcessConfig struct {
	// Binary is the path of otelcol-msg.
	Binary string
	// Args are its arguments, e.g. --config <file>.
	Args []string
	// Env is added to this process's environment ("KEY=value").
	Env []string
	// LogPath receives the child's stdout and stderr (created or truncated),
	// so the collector's logs never mix with a test's or the demo's output.
	LogPath string
}

// Process is a running otelcol-msg child process.
type Process struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error // valid once done is closed
}

// StartProcess starts the binary and returns at once; use WaitHealthy to
// know when its pipelines run.
func StartProcess(cfg ProcessConfig) (*Process, error) {
	if cfg.LogPath == "" {
		return nil, errors.New("start otelcol-msg: LogPath is empty")
	}
	logFile, err := os.Create(cfg.LogPath)
	if err != nil {
		return nil, fmt.Errorf("start otelcol-msg: log file: %w", err)
	}
	cmd := exec.Command(cfg.Binary, cfg.Args...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.Binary, err)
	}
	p := &Process{cmd: cmd, logPath: cfg.LogPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// LogPath is the file holding the child's logs.
func (p *Process) LogPath() string { return p.logPath }

// Pid is the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr is the process's exit status (nil for exit code 0); valid after Done.
func (p *Process) ExitErr() error { return p.waitErr }

// WaitHealthy polls the health_check extension at healthURL until it answers
// 200. It fails at once if the process exits first, and when ctx ends.
func (p *Process) WaitHealthy(ctx context.Context, healthURL string) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, http.NoBody)
		if err != nil {
			return fmt.Errorf("health check request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("otelcol-msg exited before it was healthy (%v); its log %s ends with:\n%s",
				p.waitErr, p.logPath, p.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("otelcol-msg not healthy at %s: %w; its log %s ends with:\n%s",
				healthURL, ctx.Err(), p.logPath, p.LogTail(20))
		case <-tick.C:
		}
	}
}

// Stop asks the collector to shut down (SIGTERM), as an init system would, and
// kills it if it has not exited within timeout. It returns an error when the
// process had to be killed or exited with a failure status.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitError()
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal otelcol-msg: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.exitError()
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("otelcol-msg did not stop within %s of SIGTERM and was killed; log: %s", timeout, p.logPath)
	}
}

// Kill ends the process with SIGKILL, with no chance to flush or commit, and
// waits until it is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *Process) exitError() error {
	if p.waitErr != nil {
		return fmt.Errorf("otelcol-msg exited with %w; its log %s ends with:\n%s", p.waitErr, p.logPath, p.LogTail(20))
	}
	return nil
}

// LogTail returns the last n lines of the child's log, for error messages.
func (p *Process) LogTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
