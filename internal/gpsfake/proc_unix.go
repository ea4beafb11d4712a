//go:build unix

package gpsfake

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own, so that a signal
// reaches gpsfake and the gpsd it starts, and nothing else.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func interrupt(cmd *exec.Cmd) { syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }

func kill(cmd *exec.Cmd) { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
