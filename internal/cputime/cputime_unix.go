//go:build unix

package cputime // import "github.com/otelcol-msg/otelcol-msg/internal/cputime"

import (
	"syscall"
	"time"
)

// Process is the user and system CPU time the process used so far, or 0
// when the kernel does not say.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
