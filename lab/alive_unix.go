//go:build unix

package lab

import "syscall"

// processAlive says whether process pid still runs (kill -0).
func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }
