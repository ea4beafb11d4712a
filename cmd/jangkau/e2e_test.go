package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/geotest"
)

// buildBinary builds the real jangkau binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jangkau")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// start runs the binary until the test ends, then stops it with SIGTERM,
// as an operator's systemd would.
func start(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("%s %s did not stop within 15 s of SIGTERM", filepath.Base(bin), args[0])
		}
		if t.Failed() {
			logf.Seek(0, io.SeekStart)
			sc := bufio.NewScanner(logf)
			for sc.Scan() {
				t.Logf("%s: %s", args[0], sc.Text())
			}
		}
		logf.Close()
	})
	return cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

type kecamatan struct {
	code, kab string
	lat, lon  float64
}

// pickKecamatan reads the boundary file on its own (not through package
// geo, which is under test) and returns kecamatan of one kabupaten whose
// source centroid lies inside their own polygon.
func pickKecamatan(t *testing.T, path string, kab string) []kecamatan {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []kecamatan
	for _, f := range fc.Features {
		code := f.Properties.MustString("kode")
		if !strings.HasPrefix(code, kab+".") {
			continue
		}
		p := orb.Point{f.Properties.MustFloat64("src_centroid_lng"), f.Properties.MustFloat64("src_centroid_lat")}
		inside := false
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			inside = planar.PolygonContains(g, p)
		case orb.MultiPolygon:
			inside = planar.MultiPolygonContains(g, p)
		}
		if inside {
			out = append(out, kecamatan{code: code, kab: kab, lat: p[1], lon: p[0]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].code < out[j].code })
	if len(out) < 3 {
		t.Fatalf("only %d usable kecamatan in %s", len(out), kab)
	}
	return out
}

type feature struct {
	Properties struct {
		Code, Status string
		Samples      int
		Probes       int
		Availability float64
	}
}

func coverage(t *testing.T, base, query string) map[string]feature {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/coverage?" + query)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var fc struct{ Features []feature }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&fc) != nil {
		return nil
	}
	out := map[string]feature{}
	for _, f := range fc.Features {
		out[f.Properties.Code] = f
	}
	return out
}

// TestEndToEnd runs the real binary: a collector on the real kecamatan of
// Banten and two probes, one checking a healthy server and one a dead
// port. The probes start before the collector is up, so it also shows that
// results taken while the collector was down reach it later.
func TestEndToEnd(t *testing.T) {
	regions := geotest.File(t, "banten-adm3.geojson")
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	kec := pickKecamatan(t, regions, "36.01")
	healthy, dead, empty := kec[0], kec[1], kec[2]

	okSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer okSrv.Close()
	deadAddr := freeAddr(t) // nothing listens there
	collectorAddr := freeAddr(t)
	base := "http://" + collectorAddr

	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	write(t, filepath.Join(dir, "collector.yaml"), fmt.Sprintf(`listen: 127.0.0.1:1
data_dir: ./data
public_read: true
regions:
  file: %s
probes:
  - id: healthy
    token_sha256: %q
    location: {lat: %f, lon: %f}
  - id: dead
    token_sha256: %q
    region: %q
`, regions, sum("tok-healthy"), healthy.lat, healthy.lon, sum("tok-dead"), dead.code))
	write(t, filepath.Join(dir, "tok-healthy"), "tok-healthy\n")
	for _, p := range []struct{ id, check string }{
		{"healthy", fmt.Sprintf(`{name: portal, kind: http, target: %q, interval: 1s, timeout: 500ms}`, okSrv.URL+"/")},
		{"dead", fmt.Sprintf(`{name: gateway, kind: tcp, target: %q, interval: 1s, timeout: 500ms}`, deadAddr)},
	} {
		tokenLine := "token: tok-" + p.id
		if p.id == "healthy" {
			tokenLine = "token_file: tok-healthy"
		}
		write(t, filepath.Join(dir, p.id+".yaml"), fmt.Sprintf("id: %s\ncollector: %s\n%s\nupload: {interval: 1s}\nchecks:\n  - %s\n",
			p.id, base, tokenLine, p.check))
	}

	probesStart := time.Now().UTC()
	start(t, bin, "probe", "--config", filepath.Join(dir, "healthy.yaml"))
	start(t, bin, "probe", "--config", filepath.Join(dir, "dead.yaml"))
	time.Sleep(3 * time.Second) // the collector is down: the probes keep their results
	collectorStart := time.Now().UTC()
	start(t, bin, "collector", "--config", filepath.Join(dir, "collector.yaml"), "--listen", collectorAddr)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var cov map[string]feature
	for {
		cov = coverage(t, base, "level=3")
		if cov != nil && cov[healthy.code].Properties.Samples >= 5 && cov[dead.code].Properties.Samples >= 5 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no coverage with 5 samples of each probe within 60 s: %+v %+v", cov[healthy.code], cov[dead.code])
		case <-time.After(500 * time.Millisecond):
		}
	}
	h, d := cov[healthy.code].Properties, cov[dead.code].Properties
	if h.Status != "good" || h.Availability != 1 || h.Probes != 1 {
		t.Errorf("kecamatan of the healthy probe %s: %+v, want good", healthy.code, h)
	}
	if d.Status != "blank" || d.Availability != 0 || d.Probes != 1 {
		t.Errorf("kecamatan of the dead-port probe %s: %+v, want blank", dead.code, d)
	}
	if e := cov[empty.code].Properties; e.Status != "unmeasured" || e.Samples != 0 {
		t.Errorf("kecamatan without probes %s: %+v, want unmeasured", empty.code, e)
	}

	// The kabupaten carries both probes' samples, read in the same window.
	// The window ends 3 s ago, but the probes go on uploading, and a
	// result taken inside the window can still arrive late (a retry after
	// a refused upload, a slow machine): the kecamatan are read before
	// and after the kabupaten, and the comparison is made on a read where
	// both kecamatan reads agree.
	q := fmt.Sprintf("from=%s&to=%s", probesStart.Add(-time.Second).Format(time.RFC3339), time.Now().UTC().Add(-3*time.Second).Format(time.RFC3339))
	kecSum := func(m map[string]feature) int {
		return m[healthy.code].Properties.Samples + m[dead.code].Properties.Samples
	}
	var kab feature
	want := -1
	for try := 0; try < 10; try++ {
		before, kabs, after := coverage(t, base, "level=3&"+q), coverage(t, base, "level=2&"+q), coverage(t, base, "level=3&"+q)
		if before == nil || kabs == nil || after == nil || kecSum(before) != kecSum(after) {
			time.Sleep(time.Second)
			continue
		}
		kab, want = kabs["36.01"], kecSum(after)
		break
	}
	if want < 0 {
		t.Fatal("the kecamatan of the window changed under every one of 10 reads of the kabupaten")
	}
	if k := kab.Properties; k.Samples != want || k.Probes != 2 {
		t.Errorf("kabupaten 36.01: %d samples from %d probes, want %d from 2", k.Samples, k.Probes, want)
	}

	// Results taken while the collector was down arrived.
	before := coverage(t, base, fmt.Sprintf("level=3&from=%s&to=%s",
		probesStart.Add(-time.Second).Format(time.RFC3339), collectorStart.Format(time.RFC3339)))
	if n := before[healthy.code].Properties.Samples; n < 2 {
		t.Errorf("%d results from before the collector started reached it, want at least 2", n)
	}

	// Every probe's seqs are all there: results_stored equals last_seq.
	resp, err := http.Get(base + "/api/v1/probes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw struct {
		Probes []map[string]any
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || len(raw.Probes) != 2 {
		t.Fatalf("probes answer: %v %v", err, raw)
	}
	for _, p := range raw.Probes {
		if p["results_stored"] != p["last_seq"] || p["last_seq"].(float64) < 5 {
			t.Errorf("probe %v: results_stored %v, last_seq %v", p["id"], p["results_stored"], p["last_seq"])
		}
		if p["id"] == "healthy" && p["region"] != healthy.code {
			t.Errorf("healthy probe placed in %v, want %s by its location", p["region"], healthy.code)
		}
	}
}
