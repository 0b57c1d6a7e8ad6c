//go:build unix

package cputime

import (
	"testing"
	"time"
)

// TestProcessGrowsWithWork spins until Process has counted 5 ms of CPU: on
// a busy machine that takes longer in wall time, never forever.
func TestProcessGrowsWithWork(t *testing.T) {
	before := Process()
	if before <= 0 {
		t.Fatalf("Process() = %v, want the CPU time used so far", before)
	}
	deadline := time.Now().Add(10 * time.Second)
	for Process()-before < 5*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("Process() grew by %v over 10 s of busy work, want 5 ms", Process()-before)
		}
	}
}
