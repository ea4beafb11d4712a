//go:build !unix

package gpsfake

import "os/exec"

// gpsd runs on Unix only; elsewhere Start skips before it gets here.
func ownGroup(cmd *exec.Cmd) {}

func interrupt(cmd *exec.Cmd) { cmd.Process.Kill() }

func kill(cmd *exec.Cmd) { cmd.Process.Kill() }
