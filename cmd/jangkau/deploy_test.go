package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/internal/testenv"
)

// TestSystemdUnit checks every unit in deploy/ with systemd's own
// verifier, pointing it at the real binary, and that the probe's unit
// stays unprivileged with CAP_NET_RAW only. Without systemd-analyze it
// skips, or fails in CI, where scripts/test.sh installs systemd.
func TestSystemdUnit(t *testing.T) {
	verify := testenv.LookPath(t, "systemd-analyze", "systemd")
	units, err := filepath.Glob("../../deploy/*.service")
	if err != nil || len(units) == 0 {
		t.Fatalf("no systemd unit in deploy/ (%v): the probe's unit is deploy/jangkau-probe.service", err)
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, unit := range units {
		text, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.Base(unit))
		write(t, path, strings.ReplaceAll(string(text), "/usr/local/bin/jangkau", bin))
		out, err := exec.Command(verify, "verify", path).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
	probe, err := os.ReadFile("../../deploy/jangkau-probe.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=jangkau", "AmbientCapabilities=CAP_NET_RAW", "CapabilityBoundingSet=CAP_NET_RAW",
		"NoNewPrivileges=yes", "ExecStart=/usr/local/bin/jangkau probe --config /etc/jangkau/probe.yaml"} {
		if !strings.Contains(string(probe), want) {
			t.Errorf("jangkau-probe.service lacks %q", want)
		}
	}
	// The flags the unit uses exist.
	if out, err := exec.Command(bin, "probe", "-h").CombinedOutput(); !strings.Contains(string(out), "-config") {
		t.Errorf("jangkau probe -h: %v\n%s", err, out)
	}
}
