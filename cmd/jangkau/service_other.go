//go:build !windows

package main

import (
	"context"
	"errors"
	"io"
)

// serviceUsage is empty: `jangkau service` is for Windows.
const serviceUsage = ""

// runServiceCommand says what to use instead on this system.
func runServiceCommand(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("runs the probe as a Windows service; on Linux install the systemd unit (deploy/jangkau-probe.service, or the .deb/.rpm package)")
}
