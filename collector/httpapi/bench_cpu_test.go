//go:build unix

package httpapi

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock sums the process's CPU time (user and system, every thread)
// over the timed parts of a benchmark and reports it per op: on a
// machine shared with other jobs, wall time says more about them.
type cpuClock struct {
	b        *testing.B
	at, used time.Duration
	n        int
}

func startCPU(b *testing.B) *cpuClock { return &cpuClock{b: b} }

func (c *cpuClock) report() {
	if c.n > 0 {
		c.b.ReportMetric(float64(c.used)/float64(c.n)/1e6, "cpu-ms/op")
	}
}

func (c *cpuClock) start() { c.at = cpuNow() }
func (c *cpuClock) stop()  { c.used += cpuNow() - c.at; c.n++ }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
