package dashboards

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// promtool finds Prometheus's promtool, or skips: CI installs the Debian
// package (scripts/test.sh), so there a missing promtool fails.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found; CI must install prometheus (apt-get install prometheus)")
		}
		t.Skip("promtool not found; install Debian's prometheus package to check the rules")
	}
	return p
}

func TestPrometheusRules(t *testing.T) {
	bin := promtool(t)
	dir := filepath.Join("prometheus")
	for _, args := range [][]string{
		{"check", "rules", "rules.yml"},
		{"test", "rules", "rules_test.yml"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
