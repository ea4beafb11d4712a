package main

import (
	"fmt"
	"net"
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

// debianRoot returns a fresh copy of a clean Debian root (bookworm,
// minbase). scripts/debian-root.sh makes it once with debootstrap, as
// part of installing what the tests need, into .cache/debian-root: the
// test itself never reaches a mirror.
func debianRoot(t *testing.T) string {
	t.Helper()
	testenv.LookPath(t, "debootstrap", "debootstrap")
	cache, err := filepath.Abs("../../.cache/debian-root/bookworm-minbase")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cache, ".complete")); err != nil {
		testenv.Missing(t, "no Debian root at %s: run `bash scripts/debian-root.sh` (scripts/test.sh does)", cache)
	}
	root := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-a", cache, root).CombinedOutput(); err != nil {
		t.Fatalf("copy the Debian root: %v\n%s", err, out)
	}
	return root
}

// TestInstallDeb installs the amd64 .deb into a clean Debian root as an
// operator would (dpkg -i, as root, in a chroot; no systemd runs there),
// then upgrades it: the jangkau user exists, /var/lib/jangkau is its own,
// probe.yaml is a conffile whose edit survives the upgrade, systemd
// accepts the unit as installed, and `jangkau check` passes inside the
// root, offline and against a real collector on loopback with a token
// made by `jangkau token --out`.
func TestInstallDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("debootstraps a Debian root (about 3 minutes once, then cached) and builds packages; skipped with -short")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "installing into a chroot needs root")
	}
	verify := testenv.LookPath(t, "systemd-analyze", "systemd")
	root := debianRoot(t)
	out := t.TempDir()
	debs := map[string]string{}
	for _, v := range []string{"1.2.3", "1.2.4"} {
		paths, err := build("../..", out, v, []string{"amd64"}, []string{"deb"})
		if err != nil {
			t.Fatal(err)
		}
		debs[v] = paths[0]
	}
	in := func(user string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command("chroot", append([]string{"--userspec=" + user, root}, args...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	must := func(args ...string) string {
		t.Helper()
		o, err := in("root", args...)
		if err != nil {
			t.Fatalf("in the root: %v: %v\n%s", args, err, o)
		}
		return o
	}
	install := func(version string) {
		t.Helper()
		dst := filepath.Join(root, "tmp", filepath.Base(debs[version]))
		if b, err := exec.Command("cp", debs[version], dst).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, b)
		}
		must("dpkg", "-i", "/tmp/"+filepath.Base(dst))
	}

	install("1.2.3")
	if got := must("getent", "passwd", "jangkau"); !strings.Contains(got, ":/var/lib/jangkau:/usr/sbin/nologin") {
		t.Errorf("jangkau user: %q", got)
	}
	if got := must("stat", "-c", "%U:%G %a", "/var/lib/jangkau", "/etc/jangkau", "/etc/jangkau/probe.yaml", "/etc/jangkau/token"); got != "jangkau:jangkau 750\nroot:jangkau 750\nroot:jangkau 640\nroot:jangkau 640\n" {
		t.Errorf("owners and modes of /var/lib/jangkau, /etc/jangkau, probe.yaml, token:\n%s", got)
	}
	if got := must("dpkg-query", "-W", "-f=${Conffiles}", "jangkau-probe"); !strings.Contains(got, "/etc/jangkau/probe.yaml ") {
		t.Errorf("conffiles: %q", got)
	}

	// systemd's verifier on the unit as installed, its ExecStart resolved
	// in the root. The minbase root has no systemd, so the targets the
	// unit is ordered against are not there: verify this unit only.
	unit := "/usr/lib/systemd/system/jangkau-probe.service"
	if b, err := exec.Command(verify, "verify", "--root="+root, "--recursive-errors=no", unit).CombinedOutput(); err != nil || len(strings.TrimSpace(string(b))) > 0 {
		t.Errorf("systemd-analyze verify --root %s: %v\n%s", unit, err, b)
	}

	// The operator's edit: this probe's id, the collector, a check that
	// the collector's port answers; the token from `jangkau token --out`.
	full := filepath.Join(t.TempDir(), "jangkau")
	if b, err := exec.Command("go", "build", "-o", full, "../jangkau").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	tokFile := filepath.Join(t.TempDir(), "pdg-01.token")
	b, err := exec.Command(full, "token", "--out", tokFile).CombinedOutput()
	if err != nil {
		t.Fatalf("jangkau token --out: %v\n%s", err, b)
	}
	m := regexp.MustCompile(`token_sha256: "([0-9a-f]{64})"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("jangkau token --out printed no token_sha256 line:\n%s", b)
	}
	addr := startCollector(t, full, string(m[1]))
	cfg := fmt.Sprintf("# edited by the operator\nid: pdg-01\ncollector: http://%s\ntoken_file: /etc/jangkau/token\nspool: {dir: /var/lib/jangkau/spool}\nchecks:\n  - {name: collector-port, kind: tcp, target: %q, interval: 30s, timeout: 5s}\n", addr, addr)
	if err := os.WriteFile(filepath.Join(root, "etc/jangkau/probe.yaml"), []byte(cfg), 0o640); err != nil {
		t.Fatal(err)
	}

	install("1.2.4")
	if got := must("dpkg-query", "-W", "-f=${Version} ${db:Status-Abbrev}", "jangkau-probe"); strings.TrimSpace(got) != "1.2.4 ii" {
		t.Errorf("after the upgrade: %q, want 1.2.4 installed", got)
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/jangkau/probe.yaml")); err != nil || string(b) != cfg {
		t.Errorf("the upgrade replaced the edited probe.yaml (%v):\n%s", err, b)
	}

	// Until the token is written, check refuses the empty file postinst made.
	if o, err := in("jangkau:jangkau", "/usr/bin/jangkau", "check", "--config", "/etc/jangkau/probe.yaml"); err == nil || !strings.Contains(o, "is empty") {
		t.Errorf("jangkau check with the empty token file postinst made: %v\n%s", err, o)
	}
	tok, err := os.ReadFile(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	// Into the file postinst made, keeping its owner and mode.
	cmd := exec.Command("chroot", root, "sh", "-c", "cat > /etc/jangkau/token")
	cmd.Stdin = strings.NewReader(string(tok))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("write the token: %v\n%s", err, b)
	}
	if o, err := in("jangkau:jangkau", "/usr/bin/jangkau", "check", "--offline", "--config", "/etc/jangkau/probe.yaml"); err != nil {
		t.Errorf("jangkau check --offline in the root: %v\n%s", err, o)
	} else if !regexp.MustCompile(`collector-port +tcp .*ok`).MatchString(o) {
		t.Errorf("jangkau check --offline: no ok row for the tcp check:\n%s", o)
	}
	o, err := in("jangkau:jangkau", "/usr/bin/jangkau", "check", "--config", "/etc/jangkau/probe.yaml")
	t.Logf("jangkau check in the root, as jangkau:\n%s", o)
	if err != nil {
		t.Errorf("jangkau check against the collector: %v", err)
	}
	if !strings.Contains(o, "COLLECTOR  http://"+addr+"  ok") || !strings.Contains(o, "token accepted") {
		t.Errorf("no ok COLLECTOR row with the token accepted")
	}
}

// startCollector runs the full jangkau binary as a collector on a free
// loopback port until the test ends, with probe pdg-01 and the token hash
// `jangkau token --out` printed. The chroot shares this network namespace.
func startCollector(t *testing.T, bin, hash string) (addr string) {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	regions := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kode":"99.01.01","nama":"Barat"},"geometry":{"type":"Polygon","coordinates":[[[100,0],[100.5,0],[100.5,0.5],[100,0.5],[100,0]]]}}]}`
	cfg := fmt.Sprintf("listen: %s\ndata_dir: ./data\nregions: {file: regions.geojson}\nprobes:\n  - {id: pdg-01, token_sha256: %q, region: \"99.01.01\"}\n", addr, hash)
	for name, text := range map[string]string{"regions.geojson": regions, "collector.yaml": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "collector", "--config", "collector.yaml")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		logf.Close()
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("collector not listening on %s within 15 s:\n%s", addr, b)
		}
	}
}
