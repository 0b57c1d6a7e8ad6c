package harness

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PeakRSS returns the process's peak resident set size in bytes (VmHWM in
// /proc/<pid>/status; Linux only). It reads a live process only.
func (p *Process) PeakRSS() (int64, error) { return procStatusBytes(p.Pid(), "VmHWM") }

// RSS returns the process's current resident set size in bytes (VmRSS).
func (p *Process) RSS() (int64, error) { return procStatusBytes(p.Pid(), "VmRSS") }

// procStatusBytes reads a "Field:  123 kB" line of /proc/<pid>/status.
func procStatusBytes(pid int, field string) (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read %s of process %d: %w", field, pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("%s: unexpected %s line %q", path, field, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %w", path, field, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s has no %s line", path, field)
}
