package dashboards

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jangkau/jangkau/internal/testenv"
)

// promtool finds Prometheus's promtool (testenv's rule when it is missing).
func promtool(t *testing.T) string {
	t.Helper()
	return testenv.LookPath(t, "promtool", "prometheus")
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
