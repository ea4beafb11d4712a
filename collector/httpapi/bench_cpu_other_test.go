//go:build !unix

package httpapi

import "testing"

type cpuClock struct{}

func startCPU(*testing.B) *cpuClock { return &cpuClock{} }
func (*cpuClock) start()            {}
func (*cpuClock) stop()             {}
func (*cpuClock) report()           {}
