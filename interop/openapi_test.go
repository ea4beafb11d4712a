package interop

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testenv"
)

// TestRedoclyLint lints the OpenAPI document the collector serves with
// redocly's recommended-strict rules, as an integrator's tooling would.
func TestRedoclyLint(t *testing.T) {
	c := startCollector(t)
	dir := npmClients(t)
	node := testenv.LookPath(t, "node", "nodejs")
	resp, err := http.Get(c.base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/v1/openapi.json: %s %v", resp.Status, err)
	}
	file := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "node_modules", "@redocly", "cli", "bin", "cli.js"),
		"lint", "--extends", "recommended-strict", "--format", "stylish", file)
	cmd.Dir = t.TempDir() // no redocly.yaml of anyone else's applies
	cmd.Env = append(os.Environ(), append(noProxy, "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("redocly lint: %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Errorf("redocly lint --extends recommended-strict of the served OpenAPI: %v\n%s", err, strings.TrimSpace(string(out)))
	}
}
