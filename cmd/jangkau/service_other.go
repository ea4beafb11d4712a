//go:build !windows

package main

import (
	"context"
	"errors"
	"io"
)

// serviceUsage says that `jangkau service` is for Windows; here the
// systemd unit runs the probe.
const serviceUsage = "  jangkau service   install|uninstall|run   the probe as a Windows service (Windows only; on Linux, the systemd unit)\n"

// runServiceCommand says what to use instead on this system.
func runServiceCommand(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("runs the probe as a Windows service; on Linux install the systemd unit (deploy/jangkau-probe.service, or the .deb/.rpm package)")
}
