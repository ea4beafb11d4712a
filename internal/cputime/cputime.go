// Package cputime reads the CPU time this process has used, for
// benchmarks on a machine shared with other jobs, where wall time says
// more about the other jobs than about the code measured.
package cputime

import (
	"testing"
	"time"
)

// Clock sums the CPU time of a benchmark's timed parts (Start to Stop)
// and reports it per part as cpu-ms/op.
type Clock struct {
	b        *testing.B
	at, used time.Duration
	n        int
}

// NewClock is a Clock reporting to b.
func NewClock(b *testing.B) *Clock { return &Clock{b: b} }

// Start begins a timed part.
func (c *Clock) Start() { c.at = Self() }

// Stop ends the timed part Start began.
func (c *Clock) Stop() { c.used += Self() - c.at; c.n++ }

// Report reports the mean CPU time of the timed parts; nothing when
// none ran or where Self is not available.
func (c *Clock) Report() {
	if c.n > 0 && c.used > 0 {
		c.b.ReportMetric(float64(c.used)/float64(c.n)/1e6, "cpu-ms/op")
	}
}
