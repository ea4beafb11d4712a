//go:build linux && !probeonly

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testenv"
)

// quickstartRE finds the README's quick-start blocks: a marker comment,
// `<!-- quickstart -->` for commands or `<!-- quickstart: FILE -->` for a
// file's content, then a fenced block.
var quickstartRE = regexp.MustCompile("(?s)<!-- quickstart(?:: (\\S+))? -->\n```\\w*\n(.*?)```")

// quickstartScript turns the README's marked blocks into one shell
// script, in their order: commands as they are, files written as they
// are.
func quickstartScript(readme string) (script string, blocks int) {
	var b strings.Builder
	for _, m := range quickstartRE.FindAllStringSubmatch(readme, -1) {
		if m[1] != "" {
			fmt.Fprintf(&b, "cat > %s <<'QUICKSTART_FILE_END'\n%sQUICKSTART_FILE_END\n", m[1], m[2])
		} else {
			b.WriteString(m[2])
		}
		blocks++
	}
	return b.String(), blocks
}

// TestQuickstart runs the README's operator quick start word for word in
// a directory that looks like a fresh clone (the repository's files
// linked in), in a network namespace of its own so that the README's
// 127.0.0.1:8080 is free, and ends with the probe on the map: the
// collector lists it with its results stored, the coverage has its
// kecamatan good, and the map page shows the kecamatan measured.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, runs a collector and a probe for about 20 s; skipped with -short")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the quick start runs in a network namespace of its own, which needs root")
	}
	testenv.LookPath(t, "curl", "curl")
	testenv.LookPath(t, "unshare", "util-linux")
	ip := testenv.LookPath(t, "ip", "iproute2")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	steps, n := quickstartScript(string(readme))
	if n < 4 {
		t.Fatalf("README.md has %d quick-start blocks (<!-- quickstart --> before a fenced block), want the build, collector, probe and map steps", n)
	}
	dir := t.TempDir()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasPrefix(name, "."), name == "jangkau", name == "jangkau-probe", name == "jangkau-data":
		default:
			if err := os.Symlink(filepath.Join(repo, name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Before the steps: loopback up in the new namespace. After them: wait for the map to fill, then keep
	// what the collector says.
	script := ip + " link set lo up\nset -e\n" + steps + `
for i in $(seq 60); do
	curl -fsS -H "Authorization: Bearer $KEY" 'http://127.0.0.1:8080/api/v1/coverage?level=3&format=csv' > coverage.csv
	if grep -q '^99.01.01,.*good' coverage.csv; then break; fi
	sleep 1
done
curl -fsS -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/api/v1/probes > probes.json
curl -fsS -u "planner:$KEY" 'http://127.0.0.1:8080/?lang=en' > map.html
`
	write(t, filepath.Join(dir, "quickstart.sh"), script)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// The script, its collector and probe in a process group of their
	// own, ended together when it returns or times out.
	logPath := filepath.Join(t.TempDir(), "out")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "sh", "quickstart.sh")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	out, _ := os.ReadFile(logPath)
	t.Logf("the quick start in %v:\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("the quick start failed: %v", err)
	}
	if !strings.Contains(string(out), "COLLECTOR  http://127.0.0.1:8080  ok") {
		t.Error("jangkau check printed no ok COLLECTOR row")
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var probes struct{ Probes []map[string]any }
	if err := json.Unmarshal([]byte(read("probes.json")), &probes); err != nil {
		t.Fatal(err)
	}
	if len(probes.Probes) != 1 || probes.Probes[0]["id"] != "pdg-01" {
		t.Fatalf("probes: %v, want pdg-01 alone", probes.Probes)
	}
	p := probes.Probes[0]
	if stored, _ := p["results_stored"].(float64); stored < 3 || p["results_stored"] != p["last_seq"] {
		t.Errorf("pdg-01: results_stored %v, last_seq %v; want at least 3, all of its seqs", p["results_stored"], p["last_seq"])
	}
	if !regexp.MustCompile(`(?m)^99\.01\.01,.*good`).MatchString(read("coverage.csv")) {
		t.Errorf("coverage has 99.01.01 not good:\n%s", read("coverage.csv"))
	}
	// The page's regions table, its tags dropped: code, name, status.
	page := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(read("map.html"), " ")), " ")
	if !strings.Contains(page, "99.01.01 Contoh Barat good") {
		_, table, _ := strings.Cut(page, "code name status")
		t.Errorf("the map page does not list Contoh Barat as good; its table:\n%.3000s", table)
	}
}
