package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestSelfCountsWork: spinning for 50 ms of wall time adds CPU time.
func TestSelfCountsWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" {
		t.Skip("Self is 0 where getrusage is missing")
	}
	before := Self()
	if before <= 0 {
		t.Fatalf("Self() = %v before any work, want the CPU the test process has used", before)
	}
	x := 0
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
		x++
	}
	if used := Self() - before; used < 10*time.Millisecond {
		t.Errorf("50 ms of spinning (%d loops) added %v of CPU time, want at least 10 ms", x, used)
	}
}
