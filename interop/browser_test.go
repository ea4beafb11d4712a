package interop

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/internal/testenv"
)

// pageHandler serves the other loopback origin: the client pages under
// /clients/, and the stand-in for Grafana's data source proxy.
func (c *collector) pageHandler() http.Handler {
	mux := http.NewServeMux()
	dir, _ := filepath.Abs("clients")
	mux.Handle("GET /clients/", http.StripPrefix("/clients/", http.FileServer(http.Dir(dir))))
	mux.Handle("GET /api/datasources/proxy/uid/{uid}/{path...}", http.HandlerFunc(c.grafanaProxy))
	mux.Handle("GET /favicon.ico", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	return mux
}

// browserReport is what clients/browser.mjs writes.
type browserReport struct {
	Result    json.RawMessage
	Failed    []struct{ URL, Method, Error string }
	Responses []struct {
		URL       string
		Status    int
		FromCache bool
		Headers   map[string]string
	}
	Console []string
}

// browse opens the page in headless Chromium and returns the report and the
// screenshot.
func browse(t *testing.T, c *collector, page string, settings any, result any) (*browserReport, image.Image) {
	t.Helper()
	testenv.LookPath(t, "chromium", "chromium")
	dir := npmClients(t)
	frag, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	// Chromium may write its profile as it exits: the directory goes after
	// the browser, not in t.TempDir's cleanup.
	profile, err := os.MkdirTemp("", "jangkau-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	shot := filepath.Join(t.TempDir(), "shot.png")
	var rep browserReport
	runClient(t, 3*time.Minute, nil, map[string]any{
		"url":   c.page.URL + "/clients/" + page + "#" + url.PathEscape(string(frag)),
		"watch": "http://127.0.0.1:", "width": 800, "height": 700, "screenshot": shot, "profile": profile, "timeoutMs": 90000,
	}, &rep, testenv.LookPath(t, "node", "nodejs"), filepath.Join(dir, "browser.mjs"))
	var failed, refused []string
	for _, f := range rep.Failed {
		if f.Error != "net::ERR_ABORTED" { // a tile the map no longer needed
			failed = append(failed, f.Method+" "+f.URL+": "+f.Error)
		}
	}
	for _, r := range rep.Responses {
		if r.Status >= 400 && !strings.HasSuffix(r.URL, "/favicon.ico") {
			refused = append(refused, fmt.Sprintf("%s: %d", r.URL, r.Status))
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d requests failed in Chromium, such as\n%s", len(failed), strings.Join(failed[:min(5, len(failed))], "\n"))
	}
	if len(refused) > 0 {
		t.Errorf("the collector refused %d requests, such as\n%s", len(refused), strings.Join(refused[:min(5, len(refused))], "\n"))
	}
	if t.Failed() || string(rep.Result) == "null" {
		con := rep.Console[:min(12, len(rep.Console))]
		t.Logf("console of %s (%d lines, the first %d):\n%s", page, len(rep.Console), len(con), strings.Join(con, "\n"))
	}
	if len(rep.Result) == 0 || string(rep.Result) == "null" {
		t.Fatalf("%s never finished (no result)", page)
	}
	if err := json.Unmarshal(rep.Result, result); err != nil {
		t.Fatalf("%s result %s: %v", page, rep.Result, err)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return &rep, img
}

// pandeglangPoints are points well inside Kab. Pandeglang: the source
// centroids of its probes' desa.
func pandeglangPoints(c *collector) [][2]float64 {
	var pts [][2]float64
	for _, p := range c.probes {
		if strings.HasPrefix(p.desa, pandeglang+".") {
			pts = append(pts, [2]float64{p.lon, p.lat})
		}
	}
	return pts
}

// checkPixels says whether the screenshot shows want at every point (within
// 3 per channel, for rounding in blending).
func checkPixels(t *testing.T, img image.Image, points [][2]float64, want color.RGBA, what string) {
	t.Helper()
	if len(points) == 0 {
		t.Fatal("no point to look at")
	}
	for _, p := range points {
		r, g, b, _ := img.At(int(p[0]), int(p[1])).RGBA()
		got := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
		if diff(got.R, want.R) > 3 || diff(got.G, want.G) > 3 || diff(got.B, want.B) > 3 {
			t.Errorf("pixel (%.0f, %.0f) over Pandeglang is #%02X%02X%02X, want %s #%02X%02X%02X",
				p[0], p[1], got.R, got.G, got.B, what, want.R, want.G, want.B)
		}
	}
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// hexColour parses #RRGGBB.
func hexColour(t *testing.T, s string) color.RGBA {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	if err != nil || len(s) != 7 {
		t.Fatalf("colour %q is not #RRGGBB", s)
	}
	return color.RGBA{uint8(n >> 16), uint8(n >> 8), uint8(n), 255}
}

// TestMapLibreLoadsTilesCrossOrigin is a planner's web map on another
// origin: MapLibre GL JS fetches the vector tiles with the viewer key,
// the user pans and zooms, and no tile request fails (CORS, 401, 429);
// Pandeglang, all of whose probes fail, is drawn in the blank colour.
func TestMapLibreLoadsTilesCrossOrigin(t *testing.T) {
	c := startCollector(t)
	if c.corsRejected != "" {
		t.Errorf("the collector refuses the cors key (%s): it ran without it", c.corsRejected)
	}
	colours := map[string]string{}
	for _, s := range coverage.Statuses {
		colours[string(s)] = s.Colour()
	}
	points := pandeglangPoints(c)
	overview := map[string]any{"center": [2]float64{106.1, -6.4}, "zoom": 8}
	views := []any{overview,
		map[string]any{"center": [2]float64{106.15, -6.12}, "zoom": 10},                // Kota Serang
		map[string]any{"center": [2]float64{105.95, -6.35}, "zoom": 10},                // towards Pandeglang
		map[string]any{"center": [2]float64{points[0][0], points[0][1]}, "zoom": 12.5}, // a desa there
		map[string]any{"center": [2]float64{106.3, -6.6}, "zoom": 11},                  // Lebak
		map[string]any{"center": [2]float64{106.63, -6.18}, "zoom": 11},                // Tangerang
		overview}
	var res struct {
		Errors []string
		Points [][2]float64
	}
	rep, img := browse(t, c, "maplibre.html", map[string]any{
		"collector": c.base, "key": c.viewers["maplibre"], "colours": colours,
		"fallback": coverage.StatusUnmeasured.Colour(), "views": views, "points": points,
	}, &res)
	if len(res.Errors) > 0 {
		t.Errorf("MapLibre reported %d errors, such as %q", len(res.Errors), res.Errors[:min(3, len(res.Errors))])
	}
	tiles := 0
	for _, r := range rep.Responses {
		if strings.HasPrefix(r.URL, c.base+"/tiles/") && r.Status == 200 {
			tiles++
			for _, h := range []string{"etag", "cache-control", "access-control-allow-origin"} {
				if r.Headers[h] == "" {
					t.Errorf("tile %s has no %s header", r.URL, h)
					break
				}
			}
		}
	}
	t.Logf("MapLibre loaded %d tiles, %d requests failed", tiles, len(rep.Failed))
	if tiles == 0 {
		t.Errorf("MapLibre loaded no tile from the collector")
	}
	checkPixels(t, img, res.Points, hexColour(t, coverage.StatusBlank.Colour()), "the blank colour")
}
