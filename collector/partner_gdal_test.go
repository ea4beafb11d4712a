package collector

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/internal/testenv"
)

// needOgrinfo finds GDAL's ogrinfo (testenv's rule when it is missing).
func needOgrinfo(t *testing.T) string {
	t.Helper()
	return testenv.LookPath(t, "ogrinfo", "gdal-bin")
}

// ogrinfo runs GDAL as a partner's GIS would, with the partner's key.
func ogrinfo(t *testing.T, key string, args ...string) string {
	t.Helper()
	bin := needOgrinfo(t)
	all := append([]string{"--config", "GDAL_HTTP_HEADERS", "Authorization: Bearer " + key,
		"--config", "GDAL_HTTP_TIMEOUT", "30"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Env = append(os.Environ(), "GDAL_HTTP_PROXY=", "http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=127.0.0.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var featureCountRE = regexp.MustCompile(`Feature Count: (\d+)`)

func featureCount(t *testing.T, out string) int {
	t.Helper()
	m := featureCountRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no feature count in\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestGDALReadsOGCAPIFeatures(t *testing.T) {
	needOgrinfo(t)
	f := newExportFixture(t)
	src := "OAPIF:" + f.http.URL + "/ogc"
	out := ogrinfo(t, keyTel, "-ro", "-so", src)
	for _, layer := range []string{"regions-1", "regions-2", "regions-3", "tiles", "probes", "blankspots"} {
		if !strings.Contains(out, layer) {
			t.Errorf("layer %s missing from\n%s", layer, out)
		}
	}
	for _, tc := range []struct {
		key, layer string
		count      int
		fields     []string
	}{
		{keyTel, "regions-3", 3, []string{"status: String", "samples: Integer", "people_affected: Integer", "availability: Real"}},
		{keyTel, "regions-2", 2, []string{"code: String"}},
		{keyTel, "tiles", 2, []string{"quadkey: String", "latency_p95_ms: Real"}},
		{keyTel, "probes", 3, []string{"carrier: String"}},
		{keyTel, "blankspots", 3, []string{"since: DateTime", "people_affected: Integer"}},
		{keyInd, "probes", 2, nil},
		{keyInd, "tiles", 2, nil},
		{keyKab, "regions-3", 2, nil},
		{keyKab, "regions-1", 0, nil},
	} {
		t.Run(tc.key+"/"+tc.layer, func(t *testing.T) {
			out := ogrinfo(t, tc.key, "-ro", "-so", src, tc.layer)
			if n := featureCount(t, out); n != tc.count {
				t.Errorf("%d features, want %d\n%s", n, tc.count, out)
			}
			for _, fl := range tc.fields {
				if !strings.Contains(out, fl) {
					t.Errorf("field %q missing\n%s", fl, out)
				}
			}
		})
	}
	// Each partner sees only its own carrier's probes.
	for key, want := range map[string][]string{keyTel: {"west", "far", "quiet"}, keyInd: {"mix", "east"}} {
		out := ogrinfo(t, key, "-ro", "-al", "-q", src, "probes")
		for _, id := range []string{"west", "far", "quiet", "mix", "east"} {
			has := strings.Contains(out, "id (String) = "+id)
			if has != contains(want, id) {
				t.Errorf("key %s: probe %s listed %v, want %v\n%s", key, id, has, !has, out)
			}
		}
	}
	// A property filter and paging through next links with a small limit.
	out = ogrinfo(t, keyTel, "-ro", "-al", "-q", "--config", "OAPIF_PAGE_SIZE", "1", src, "regions-3")
	if n := strings.Count(out, "OGRFeature(regions-3)"); n != 3 {
		t.Errorf("paging by 1: %d features, want 3\n%s", n, out)
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// download saves an export to a temp file.
func (f *fixture) download(t *testing.T, path, key, name string) string {
	t.Helper()
	code, _, body := f.fetch(path, key)
	if code != 200 {
		t.Fatalf("%s: %d %s", path, code, body)
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestGDALReadsExports(t *testing.T) {
	needOgrinfo(t)
	f := newExportFixture(t)
	t.Run("geojson", func(t *testing.T) {
		file := f.download(t, "/api/v1/export/coverage?level=3", keyInd, "coverage.geojson")
		out := ogrinfo(t, keyInd, "-ro", "-so", "-al", file)
		if n := featureCount(t, out); n != 3 || !strings.Contains(out, "Geometry: Polygon") || !strings.Contains(out, "people_affected: Integer") {
			t.Errorf("coverage GeoJSON:\n%s", out)
		}
	})
	t.Run("geojson over http", func(t *testing.T) {
		out := ogrinfo(t, keyInd, "-ro", "-so", "-al", "GeoJSON:/vsicurl/"+f.http.URL+"/api/v1/export/blankspots")
		if n := featureCount(t, out); n != 2 {
			t.Errorf("blankspots over /vsicurl/: %d features, want 2\n%s", n, out)
		}
	})
	t.Run("csv tiles", func(t *testing.T) {
		file := f.download(t, "/api/v1/export/tiles?format=csv", keyTel, "tiles.csv")
		out := ogrinfo(t, keyTel, "-ro", "-al", "-oo", "KEEP_GEOM_COLUMNS=NO",
			"-oo", "AUTODETECT_TYPE=YES", file)
		if n := featureCount(t, out); n != 2 || !strings.Contains(out, "POLYGON ((") || !strings.Contains(out, "samples: Integer") {
			t.Errorf("tiles CSV:\n%s", out)
		}
	})
	t.Run("csv coverage", func(t *testing.T) {
		file := f.download(t, "/api/v1/export/coverage?format=csv&level=2", keyAll, "coverage.csv")
		out := ogrinfo(t, keyAll, "-ro", "-al", "-oo", "GEOM_POSSIBLE_NAMES=wkt", "-oo", "KEEP_GEOM_COLUMNS=NO",
			"-oo", "AUTODETECT_TYPE=YES", file)
		if n := featureCount(t, out); n != 2 || strings.Count(out, "POLYGON ((") != 2 || !strings.Contains(out, "people_affected: Integer") {
			t.Errorf("coverage CSV:\n%s", out)
		}
	})
	t.Run("mvt", func(t *testing.T) {
		// Zoom 8 tile 199/127 holds the whole fixture province.
		file := f.download(t, "/api/v1/export/tiles/8/199/127.mvt", keyTel, "tile.mvt")
		out := ogrinfo(t, keyTel, "-ro", "-al", "-oo", "Z=8", "-oo", "X=199", "-oo", "Y=127", file)
		if !strings.Contains(out, "Layer name: regions") || !strings.Contains(out, "Layer name: probes") {
			t.Fatalf("layers missing:\n%s", out)
		}
		if strings.Contains(out, "indosat") || !strings.Contains(out, "telkom") {
			t.Errorf("telkom's tile shows another carrier or not its own:\n%s", out)
		}
	})
}
