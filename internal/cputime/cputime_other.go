//go:build !unix

package cputime // import "github.com/otelcol-msg/otelcol-msg/internal/cputime"

import "time"

// Process is not measured here: it returns 0, and cpu-ns metrics read 0.
func Process() time.Duration { return 0 }
