//go:build unix

package lab

import (
	"os"
	"os/exec"
	"testing"
)

// removeStale keeps the namespaces of runs for which processAlive is true.
func TestProcessAlive(t *testing.T) {
	if !processAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true(1): %v", err)
	}
	if processAlive(cmd.Process.Pid) {
		t.Errorf("pid %d of a finished, reaped process is alive", cmd.Process.Pid)
	}
}
