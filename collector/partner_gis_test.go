package collector

// These tests drive the partner surface with the GIS clients partners use:
// GDAL's OAPIF driver with its default options (paging, schema, filters,
// Basic auth) and curl's challenge-driven authentication.

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/internal/testlog"
)

// desaCount is Banten's number of desa/kelurahan.
const desaCount = 1552

// desaFixture is a collector with desaCount desa in 16 kecamatan of four
// kabupaten, no results (so that every figure is null), and partner "all"
// (keyAll) with the default rate limit. log holds its audit lines.
type desaFixture struct {
	url string
	log *testlog.Buffer
}

func newDesaFixture(t *testing.T) *desaFixture {
	t.Helper()
	var regions []*region.Region
	for i := range desaCount {
		kec := i / 97 // 16 kecamatan of 97 desa
		code := fmt.Sprintf("99.%02d.%02d.%d", kec/4+1, kec%4+1, 2001+i%97)
		p := square(100+float64(i%40)*0.01, float64(i/40)*0.01, 0.01)
		regions = append(regions, &region.Region{Code: code, Name: "Desa " + code, Geometry: p})
	}
	rs, err := region.New(regions)
	if err != nil {
		t.Fatal(err)
	}
	log, buf := testlog.NewJSON()
	f := newFixtureOn(t, rs, log, func(c *Config) {
		c.Probes = nil
		c.Partners = []partner.Config{{Name: "all", KeySHA256: hash(keyAll)}}
	})
	return &desaFixture{url: f.http.URL, log: buf}
}

// auditLines are the partner audit lines logged so far.
func auditLines(t *testing.T, buf *testlog.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "export" {
			out = append(out, m)
		}
	}
	return out
}

// gdal runs a GDAL command line tool as a partner's GIS would.
func gdal(t *testing.T, tool string, env []string, args ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, tool, "gdal-bin")
	cmd := exec.Command(bin, append([]string{"--config", "GDAL_HTTP_TIMEOUT", "60"}, args...)...)
	cmd.Env = append(append(os.Environ(), "GDAL_HTTP_PROXY=", "http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=127.0.0.1"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

var bearerAll = []string{"GDAL_HTTP_HEADERS=Authorization: Bearer " + keyAll}

// TestGDALCopiesDesaLayerWithoutA429 is ogr2ogr of the whole desa layer
// with GDAL's defaults: 10 features a page, no retry of a 429. Under the
// default partner rate limit every request must pass.
func TestGDALCopiesDesaLayerWithoutA429(t *testing.T) {
	testenv.LookPath(t, "ogr2ogr", "gdal-bin")
	f := newDesaFixture(t)
	out := filepath.Join(t.TempDir(), "desa.geojson")
	gdal(t, "ogr2ogr", bearerAll, "-f", "GeoJSON", out, "OAPIF:"+f.url+"/ogc", "regions-4")
	if n := featureCount(t, gdal(t, "ogrinfo", nil, "-ro", "-so", "-al", out)); n != desaCount {
		t.Errorf("ogr2ogr copied %d desa, want %d", n, desaCount)
	}
	items, refused := 0, 0
	for _, l := range auditLines(t, f.log) {
		if l["status"] == float64(http.StatusTooManyRequests) {
			refused++
		}
		if l["endpoint"] == "/ogc/collections/{id}/items" {
			items++
		}
	}
	if items < desaCount/10 || refused > 0 {
		t.Errorf("%d items requests (want at least %d: GDAL pages by 10), %d answered 429 (want 0)", items, desaCount/10, refused)
	}
}

// TestRunawayPartnerGets429 keeps the limiter's job: a client that asks
// without pause spends the burst and is then refused, with Retry-After.
func TestRunawayPartnerGets429(t *testing.T) {
	f := newExportFixture(t)
	burst := partner.DefaultRateLimit.Burst
	refused := 0
	for i := range 2 * burst {
		code, h, body := f.fetch("/ogc/conformance", keyTel)
		switch {
		case code == http.StatusTooManyRequests:
			refused++
			if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 {
				t.Fatalf("429 with Retry-After %q, want whole seconds", h.Get("Retry-After"))
			}
		case i < burst && code != http.StatusOK:
			t.Fatalf("request %d within the burst: %d %s", i, code, body)
		}
	}
	if refused == 0 {
		t.Errorf("%d requests back to back were all served; the rate limit stops nothing", 2*burst)
	}
}

// TestGDALTypesFieldsBySchema: GDAL types every field from the
// collection's schema, so a figure that is null on every feature (nothing
// measured yet) is still a number.
func TestGDALTypesFieldsBySchema(t *testing.T) {
	testenv.LookPath(t, "ogrinfo", "gdal-bin")
	f := newDesaFixture(t)
	regionFields := []string{"code: String", "level: Integer", "samples: Integer", "availability: Real", "loss: Real",
		"latency_p50_ms: Real", "latency_p95_ms: Real", "last_seen: DateTime", "population: Integer",
		"population_estimated: Integer(Boolean)", "people_affected: Integer", "measured_share: Real"}
	for _, tc := range []struct {
		layer  string
		fields []string
	}{
		{"regions-1", regionFields},
		{"regions-2", regionFields},
		{"regions-3", regionFields},
		{"regions-4", regionFields},
		{"tiles", []string{"quadkey: String", "z: Integer", "availability: Real", "loss: Real", "latency_p50_ms: Real", "probes: Integer"}},
		{"probes", []string{"id: String", "carrier: String", "last_seen: DateTime"}},
		{"blankspots", []string{"people_affected: Integer", "since: DateTime", "availability: Real"}},
	} {
		t.Run(tc.layer, func(t *testing.T) {
			out := gdal(t, "ogrinfo", bearerAll, "-ro", "-so", "OAPIF:"+f.url+"/ogc", tc.layer)
			for _, fl := range tc.fields {
				if !strings.Contains(out, "\n"+fl+" ") {
					t.Errorf("field %q missing\n%s", fl, out)
				}
			}
		})
	}
}

// TestGDALPushesFiltersDown: an equality on a queryable reaches the
// collector as ?name=value, so GDAL fetches one page, not the layer.
func TestGDALPushesFiltersDown(t *testing.T) {
	testenv.LookPath(t, "ogrinfo", "gdal-bin")
	f := newDesaFixture(t)
	for _, tc := range []struct {
		where, query string
		want         int
	}{
		{"code = '99.02.03.2005'", "code=99.02.03.2005", 1},
		{"level = 4 AND name = 'Desa 99.01.01.2001'", "level=4", 1},
	} {
		t.Run(tc.where, func(t *testing.T) {
			before := len(auditLines(t, f.log))
			out := gdal(t, "ogrinfo", bearerAll, "-ro", "-al", "-q", "-where", tc.where, "OAPIF:"+f.url+"/ogc", "regions-4")
			if n := strings.Count(out, "OGRFeature(regions-4)"); n != tc.want {
				t.Errorf("%d features, want %d\n%.2000s", n, tc.want, out)
			}
			var items []string
			for _, l := range auditLines(t, f.log)[before:] {
				if l["endpoint"] == "/ogc/collections/{id}/items" {
					items = append(items, l["filters"].(string))
				}
			}
			pushed := false
			for _, q := range items {
				pushed = pushed || strings.Contains(q, tc.query)
			}
			if !pushed || len(items) > 3 {
				t.Errorf("items requests %q: want a few, one carrying %s", items, tc.query)
			}
		})
	}
}

// TestPartnerBasicAuthWithRealClients: challenge-driven clients answer the
// 401 with Basic, the key as password.
func TestPartnerBasicAuthWithRealClients(t *testing.T) {
	curl := testenv.LookPath(t, "curl", "curl")
	f := newExportFixture(t)
	run := func(user string) (int, string) {
		out, err := exec.Command(curl, "-s", "--noproxy", "*", "--anyauth", "-u", user,
			"-w", "\n%{http_code}", f.http.URL+"/ogc/conformance").Output()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		i := strings.LastIndexByte(string(out), '\n')
		n, _ := strconv.Atoi(string(out[i+1:]))
		return n, string(out[:i])
	}
	if code, body := run("anyone:" + keyTel); code != 200 || !strings.Contains(body, "conformsTo") {
		t.Errorf("curl --anyauth with the key: %d %s", code, body)
	}
	if code, body := run("anyone:not-a-key"); code != 401 || !strings.Contains(body, "not known") || strings.Contains(body, "not-a-key") {
		t.Errorf("curl --anyauth with a wrong key: %d %s; want 401 saying the key is not known, without the key", code, body)
	}
	out := gdal(t, "ogrinfo", []string{"GDAL_HTTP_AUTH=BASIC", "GDAL_HTTP_USERPWD=anyone:" + keyTel},
		"-ro", "-so", "OAPIF:"+f.http.URL+"/ogc", "regions-3")
	if n := featureCount(t, out); n != 3 {
		t.Errorf("GDAL with Basic auth: %d features, want 3", n)
	}
}

// TestExportCSVGeometryIsWKT: every CSV export names its geometry wkt,
// which GDAL's CSV driver takes as the geometry with no option.
func TestExportCSVGeometryIsWKT(t *testing.T) {
	testenv.LookPath(t, "ogrinfo", "gdal-bin")
	f := newExportFixture(t)
	for _, path := range []string{"/api/v1/export/coverage?level=3", "/api/v1/export/tiles?z=15", "/api/v1/export/blankspots?window=15m"} {
		t.Run(path, func(t *testing.T) {
			_, _, body := f.fetch(path, keyAll)
			var fc struct{ Features []any }
			if err := json.Unmarshal(body, &fc); err != nil || len(fc.Features) == 0 {
				t.Fatalf("GeoJSON export: %v, %d features", err, len(fc.Features))
			}
			want := len(fc.Features)
			file := f.download(t, path+"&format=csv", keyAll, "export.csv")
			data, _ := os.ReadFile(file)
			header, _, _ := strings.Cut(string(data), "\n")
			cols := strings.Split(header, ",")
			if !contains(cols, "wkt") || contains(cols, "tile") {
				t.Errorf("header %q: want a wkt column and no other geometry column", header)
			}
			out := gdal(t, "ogrinfo", nil, "-ro", "-al", file)
			if n := featureCount(t, out); n != want || strings.Count(out, "POLYGON ((") != want {
				t.Errorf("GDAL read %d features, %d polygons; want the GeoJSON's %d of each\n%s", n, strings.Count(out, "POLYGON (("), want, out)
			}
		})
	}
}

// TestResultsCSVSaysNextInBand: a CSV page that is not the last ends with
// a comment line "# next: URL", which a CSV reader told that # starts a
// comment skips, and which leads to the rest.
func TestResultsCSVSaysNextInBand(t *testing.T) {
	f := newExportFixture(t)
	path := "/api/v1/export/results?window=6h&format=csv&limit=70"
	rows, pages := 0, 0
	for path != "" {
		code, _, body := f.fetch(path, keyTel)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		pages++
		r := csv.NewReader(strings.NewReader(string(body)))
		r.Comment = '#'
		r.FieldsPerRecord = len(partner.ResultColumns)
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("page %d is not CSV with # comments: %v", pages, err)
		}
		rows += len(recs) - 1
		path = ""
		lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		if next, ok := strings.CutPrefix(lines[len(lines)-1], "# next: "); ok {
			if len(recs)-1 != 70 {
				t.Errorf("page %d: %d rows and a next line, want a full page of 70", pages, len(recs)-1)
			}
			path = strings.TrimPrefix(next, f.http.URL)
		}
	}
	// telkom: west 20 + far 300 + quiet 10.
	if rows != 330 || pages != 5 {
		t.Errorf("%d rows in %d pages, want 330 in 5", rows, pages)
	}
}
