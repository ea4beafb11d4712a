package lab

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel SIGKILL the child if the lab dies first.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
