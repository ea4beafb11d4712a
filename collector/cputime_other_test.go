//go:build !linux

package collector

import "time"

// cpuTime is 0 where the benchmarks do not read the process's CPU time.
func cpuTime() time.Duration { return 0 }
