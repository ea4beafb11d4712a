//go:build !windows

package main

import (
	"bytes"
	"strings"
	"testing"
)

// Off Windows, `jangkau service` fails and names the systemd unit.
func TestServiceCommandOffWindows(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"service", "install"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "jangkau service: runs the probe as a Windows service; on Linux install the systemd unit") {
		t.Errorf("stderr %q, want it to name the systemd unit", stderr.String())
	}
}
