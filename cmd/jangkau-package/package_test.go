package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/internal/testenv"
)

// TestDebPackage builds the amd64 .deb and reads it back with dpkg-deb:
// the probe-only binary, the unit with CAP_NET_RAW pointing at it,
// probe.yaml as a conffile, /var/lib/jangkau owned by the jangkau user
// that preinst creates.
func TestDebPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the probe and a package; skipped with -short")
	}
	dpkgDeb := testenv.LookPath(t, "dpkg-deb", "dpkg")
	out := t.TempDir()
	paths, err := build("../..", out, "1.2.3", []string{"amd64"}, []string{"deb"})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || !strings.HasSuffix(paths[0], "_1.2.3_amd64.deb") {
		t.Fatalf("wrote %v, want one jangkau-probe_1.2.3_amd64.deb", paths)
	}
	deb := paths[0]
	run := func(args ...string) string {
		t.Helper()
		b, err := exec.Command(dpkgDeb, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg-deb %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	if got := run("--field", deb, "Package", "Architecture", "Version"); got != "Package: jangkau-probe\nArchitecture: amd64\nVersion: 1.2.3\n" {
		t.Errorf("control fields:\n%s", got)
	}
	contents := run("--contents", deb)
	for _, want := range []string{"root/root", "./usr/bin/jangkau\n", "./usr/lib/systemd/system/jangkau-probe.service\n",
		"root/jangkau", "./etc/jangkau/probe.yaml\n"} {
		if !strings.Contains(contents, want) {
			t.Errorf("contents lack %q:\n%s", want, contents)
		}
	}
	if !strings.Contains(contents, "jangkau/jangkau") || !strings.Contains(contents, "./var/lib/jangkau/") {
		t.Errorf("/var/lib/jangkau is not owned by jangkau:\n%s", contents)
	}
	ctrl := t.TempDir()
	run("--control", deb, ctrl)
	for file, wants := range map[string][]string{
		"conffiles": {"/etc/jangkau/probe.yaml"},
		"preinst":   {"useradd --system", "jangkau"},
	} {
		b, err := os.ReadFile(filepath.Join(ctrl, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q:\n%s", file, w, b)
			}
		}
	}
	root := t.TempDir()
	run("-x", deb, root)
	unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/jangkau-probe.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"AmbientCapabilities=CAP_NET_RAW", "ExecStart=/usr/bin/jangkau probe --config /etc/jangkau/probe.yaml"} {
		if !strings.Contains(string(unit), w) {
			t.Errorf("unit lacks %q", w)
		}
	}
	v, err := exec.Command(filepath.Join(root, "usr/bin/jangkau"), "version").CombinedOutput()
	if err != nil || !strings.Contains(string(v), "probeonly") {
		t.Errorf("packaged jangkau version: %v\n%s", err, v)
	}
	// The packaged config loads once its token file exists.
	cfg, err := os.ReadFile(filepath.Join(root, "etc/jangkau/probe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	local := strings.NewReplacer("/etc/jangkau/token", filepath.Join(dir, "token"), "/var/lib/jangkau/spool", filepath.Join(dir, "spool")).Replace(string(cfg))
	if err := os.WriteFile(filepath.Join(dir, "probe.yaml"), []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("4de0cbb6f1e2d3c4b5a69788796a5b4c3d2e1f0011223344\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(filepath.Join(root, "usr/bin/jangkau"), "check", "--offline", "--config", filepath.Join(dir, "probe.yaml")).CombinedOutput(); err != nil && !strings.Contains(string(b), "CHECK") {
		t.Errorf("jangkau check on the packaged config: %v\n%s", err, b)
	}
}
