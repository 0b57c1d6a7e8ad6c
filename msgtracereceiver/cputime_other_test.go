//go:build !unix

package msgtracereceiver

import "time"

// processCPU is not measured here; the cpu-ns/msg metric reads 0.
func processCPU() time.Duration { return 0 }
