package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/internal/testenv"
)

// labMissing says why `jangkau lab` cannot run here, or "".
func labMissing() string {
	if os.Geteuid() != 0 {
		return "jangkau lab needs root (network namespaces)"
	}
	for _, tool := range []string{"ip", "nft", "tc", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "jangkau lab needs " + tool + " (apt-get install iproute2 nftables procps)"
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return "jangkau lab needs /dev/net/tun"
	}
	return ""
}

// TestLabCI plays lab/scenarios/ci.yaml on the real Banten kecamatan: six
// districts in network namespaces behind delayed, lossy, rate-limited and
// cut links, and one e-service outage. The lab exits 0 only when every
// assertion of the scenario holds.
func TestLabCI(t *testing.T) {
	if testing.Short() {
		t.Skip("the lab scenario takes about 4 minutes")
	}
	if why := labMissing(); why != "" {
		testenv.Missing(t, "%s", why)
	}
	regions := geotest.File(t, "banten-adm3.geojson")
	bin := buildBinary(t)
	report := filepath.Join(t.TempDir(), "report")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "lab", "--scenario", filepath.Join("..", "..", "lab", "scenarios", "ci.yaml"),
		"--regions", regions, "--report", report)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("jangkau lab output:\n%s", out)
	if err != nil {
		if md, rerr := os.ReadFile(filepath.Join(report, "report.md")); rerr == nil {
			t.Logf("report.md:\n%s", md)
		}
		t.Fatalf("jangkau lab: %v", err)
	}
	for _, f := range []string{"report.md", "map-level2.svg", "map-level3.svg", "coverage-level2.geojson", "coverage-level3.geojson", "services.json"} {
		data, err := os.ReadFile(filepath.Join(report, f))
		if err != nil || len(data) == 0 {
			t.Errorf("report file %s: %v (%d bytes)", f, err, len(data))
		}
	}
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if data, err := os.ReadFile(filepath.Join(report, "coverage-level2.geojson")); err == nil {
		if err := json.Unmarshal(data, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != 8 {
			t.Errorf("coverage-level2.geojson: %v, type %q, %d features (want the 8 kabupaten/kota)", err, fc.Type, len(fc.Features))
		}
	}
	if svg, err := os.ReadFile(filepath.Join(report, "map-level2.svg")); err == nil && !strings.Contains(string(svg), "<svg") {
		t.Errorf("map-level2.svg has no <svg>")
	}
	// The lab deletes its namespaces (named jklab-<pid>-*) on the way out.
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		prefix := "jklab-" + itoa(cmd.Process.Pid) + "-"
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				t.Errorf("namespace %s left behind", e.Name())
			}
		}
	}
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
