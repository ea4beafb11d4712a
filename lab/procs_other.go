//go:build !linux

package lab

import "os/exec"

func dieWithParent(cmd *exec.Cmd) {}
