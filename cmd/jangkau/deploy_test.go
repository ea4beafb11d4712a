package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit checks deploy/jangkau-probe.service with systemd's own
// verifier, pointing it at the real binary, and that the probe stays
// unprivileged with CAP_NET_RAW only.
func TestSystemdUnit(t *testing.T) {
	verify, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: cannot verify deploy/jangkau-probe.service")
	}
	unit, err := os.ReadFile("../../deploy/jangkau-probe.service")
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{"User=jangkau", "AmbientCapabilities=CAP_NET_RAW", "CapabilityBoundingSet=CAP_NET_RAW",
		"NoNewPrivileges=yes", "ExecStart=/usr/local/bin/jangkau probe --config /etc/jangkau/probe.yaml"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	bin := buildBinary(t)
	path := filepath.Join(t.TempDir(), "jangkau-probe.service")
	write(t, path, strings.ReplaceAll(text, "/usr/local/bin/jangkau", bin))
	out, err := exec.Command(verify, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The flags the unit uses exist.
	if out, err := exec.Command(bin, "probe", "-h").CombinedOutput(); !strings.Contains(string(out), "-config") {
		t.Errorf("jangkau probe -h: %v\n%s", err, out)
	}
}
