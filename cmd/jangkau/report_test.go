//go:build !probeonly

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector"
	cov "github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/page"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// reportProbes stand in one desa each: Pandeglang and Lebak fail every
// check in November (they were fine in October), Kota Serang is fine.
var reportProbes = []struct {
	id, desa   string
	population int64
	ok         bool
}{
	{"pdg", "36.01.01.2001", 2483, false},
	{"lbk", "36.02.01.2002", 12345, false},
	{"srg", "36.73.01.1001", 4100, true},
}

// TestReportPrinted: `jangkau report --period 2026-11 --lang id` writes a
// PDF whose page shows Pandeglang and Lebak in the blank colour and whose
// text says since when and why, the people affected (only the measured
// ones, Indonesian digit groups), how much was measured and what got
// worse since October; the collector serves the same report to viewers.
func TestReportPrinted(t *testing.T) {
	testenv.LookPath(t, "chromium", "chromium")
	pdftoppm := testenv.LookPath(t, "pdftoppm", "poppler-utils")
	pdftotext := testenv.LookPath(t, "pdftotext", "poppler-utils")
	dir := t.TempDir()
	csv := "code,population\n"
	probes := ""
	for _, p := range reportProbes {
		csv += fmt.Sprintf("%s,%d\n", p.desa, p.population)
		probes += fmt.Sprintf("  - {id: %s, token_sha256: %q, region: %q}\n", p.id, sum("tok-"+p.id), p.desa)
	}
	writeFile(t, filepath.Join(dir, "pop.csv"), csv)
	cfgPath := filepath.Join(dir, "collector.yaml")
	writeFile(t, cfgPath, fmt.Sprintf("listen: 127.0.0.1:0\ndata_dir: %s\nregions:\n  file: %s\n  population_csv: %s\nprobes:\n%sviewers:\n  - {name: planner, key_sha256: %q}\n",
		filepath.Join(dir, "data"), geotest.File(t, "banten-adm4.geojson"), filepath.Join(dir, "pop.csv"), probes, sum("view-key")))

	// Fill the store through the collector, then serve the report over HTTP.
	cfg, err := collector.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	rs, err := collector.LoadRegions(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 10, 15, 3, 0, 0, 0, time.UTC)
	srv, err := collector.NewServer(cfg, st, rs, log, collector.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	for i, month := range []time.Time{now, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)} {
		now = month
		for _, p := range reportProbes {
			ingest(t, hs.URL, p.id, reportResults(uint64(1+i*100), now, p.ok || i == 0))
		}
	}
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		if key != "" {
			req.SetBasicAuth("planner", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/report?period=2026-11", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /report without a viewer key: %d, want 401", code)
	}
	if code, body := get("/report?period=2026-13", "view-key"); code != http.StatusBadRequest || !strings.Contains(body, "2026-13") || !strings.Contains(body, "YYYY-MM") {
		t.Errorf("GET /report?period=2026-13: %d %s, want 400 naming the value and YYYY-MM", code, body)
	}
	code, served := get("/report?period=2026-11&lang=id", "view-key")
	if code != 200 || !strings.Contains(served, `<li data-code="36.01">`) {
		t.Errorf("GET /report: %d, want the report listing 36.01:\n%.600s", code, served)
	}
	for _, fetches := range []string{"<script", "<link", "src=", "url(", "@import"} {
		if strings.Contains(served, fetches) {
			t.Errorf("the report has %q: it must be one self-contained file", fetches)
		}
	}
	// While the collector holds the store, the command says so and where
	// to get the report instead.
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	args := []string{"report", "--config", cfgPath, "--period", "2026-11", "--lang", "id", "--out", out}
	if rc := run(args, &stdout, &stderr); rc == 0 || !strings.Contains(stderr.String(), "another collector holds it") ||
		!strings.Contains(stderr.String(), "GET /report?period=2026-11&lang=id") {
		t.Errorf("jangkau report on a store the collector holds: exit %d, %q; want a refusal pointing to GET /report", rc, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	hs.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	rc := run(args, &stdout, &stderr)
	t.Logf("jangkau report: %v", time.Since(start))
	if rc != 0 {
		t.Fatalf("jangkau report: exit %d: %s", rc, stderr.String())
	}
	pdf := filepath.Join(out, "jangkau-2026-11-id.pdf")
	if !strings.Contains(stdout.String(), pdf) {
		t.Errorf("jangkau report printed %q, want the PDF's path %s", stdout.String(), pdf)
	}

	text, err := exec.Command(pdftotext, pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	flat := strings.Join(strings.Fields(string(text)), " ")
	for _, want := range []string{
		"Kabupaten Pandeglang (36.01): blank spot, sejak 27 Nov 15.50 WIB — penyebab: uplink mati. 2.483 penduduk terdampak",
		"Kabupaten Lebak (36.02): blank spot, sejak 27 Nov 15.50 WIB — penyebab: uplink mati. 12.345 penduduk terdampak",
		"Provinsi Banten: terukur di 3 dari 1.552 desa/kelurahan",
		"Memburuk Kabupaten Pandeglang (36.01, kabupaten/kota): baik → blank spot",
		"Sumur (36.01.01, kecamatan): baik → blank spot",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, flat)
		}
	}

	// pdftoppm writes the one page to stdout without an output root.
	shot, err := exec.Command(pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "1", pdf).Output()
	if err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("pdftoppm's page 1: %v", err)
	}
	// A kabupaten measured in one desa is the blank colour over the map's
	// background at the page's lightest opacity (0.3): the map claims no
	// more than was measured, yet reads as blank.
	pale := blend(cov.StatusBlank.Colour(), page.Colours().MapBackground, 0.3)
	n := countNear(img, pale, 6)
	t.Logf("page 1: %v, %d pixels of pale blank", img.Bounds().Size(), n)
	if n < 400 {
		t.Errorf("page 1 has %d pixels of pale blank %v, want the map to show Pandeglang and Lebak blank (at least 400)", n, pale)
	}
	if n := countNear(img, blend(cov.StatusBlank.Colour(), "#FFFFFF", 1), 6); n < 20 {
		t.Errorf("page 1 has %d pixels of %s, want the legend and list swatches in the blank colour", n, cov.StatusBlank.Colour())
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reportResults are 10 uplink results 30 s apart ending at end.
func reportResults(first uint64, end time.Time, ok bool) []wire.Result {
	out := make([]wire.Result, 20)
	for i := range out {
		out[i] = wire.Result{Seq: first + uint64(i), Time: end.Add(-time.Duration(len(out)-i) * 30 * time.Second),
			Check: "portal", Kind: wire.KindHTTP, Target: "http://127.0.0.1:9/", OK: ok, DurationMS: 20}
		if !ok {
			out[i].ErrorClass = wire.ClassRefused
		}
	}
	return out
}

func ingest(t *testing.T, base, probe string, rs []wire.Result) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	json.NewEncoder(zw).Encode(wire.Batch{Probe: probe, Results: rs})
	zw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/ingest", &buf)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer tok-"+probe)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ingest %s: %d %s", probe, resp.StatusCode, b)
	}
}

// blend is colour fg ("#RRGGBB") at opacity a over bg.
func blend(fg, bg string, a float64) [3]float64 {
	var f, b [3]float64
	for i := range 3 {
		var x, y int
		fmt.Sscanf(fg[1+2*i:3+2*i], "%02x", &x)
		fmt.Sscanf(bg[1+2*i:3+2*i], "%02x", &y)
		f[i], b[i] = float64(x), float64(y)
	}
	var out [3]float64
	for i := range out {
		out[i] = a*f[i] + (1-a)*b[i]
	}
	return out
}

// countNear counts the pixels within tol of c in every channel.
func countNear(img image.Image, c [3]float64, tol float64) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			px := [3]float64{float64(r >> 8), float64(g >> 8), float64(b >> 8)}
			near := true
			for i := range px {
				if px[i] < c[i]-tol || px[i] > c[i]+tol {
					near = false
				}
			}
			if near {
				n++
			}
		}
	}
	return n
}
