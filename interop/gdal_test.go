package interop

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testenv"
)

// gdal runs a GDAL program as a partner does, with the partner's key as a
// bearer token (docs/api.md, "With GDAL and QGIS"). It returns the output
// and the error of the run.
func gdal(t *testing.T, c *collector, prog string, args ...string) (string, error) {
	t.Helper()
	bin := testenv.LookPath(t, prog, "gdal-bin")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), noProxy...),
		"GDAL_HTTP_HEADERS=Authorization: Bearer "+c.partners["gdal"], "GDAL_HTTP_TIMEOUT=60")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s: %s", prog, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return string(out), err
}

var (
	featureCountRE = regexp.MustCompile(`Feature Count: (-?\d+)`)
	fieldTypeRE    = regexp.MustCompile(`(?m)^(\w+): (\w+) \(`)
	invalidRE      = regexp.MustCompile(`(?m)^\s*invalid \(\w+\) = (\d+)`)
)

// layerInfo is what `ogrinfo -so` says of a layer.
type layerInfo struct {
	count  int
	fields map[string]string // name -> GDAL type
	geom   string
}

func summary(t *testing.T, out string) layerInfo {
	t.Helper()
	m := featureCountRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no feature count in ogrinfo's output:\n%s", out)
	}
	info := layerInfo{fields: map[string]string{}}
	info.count, _ = strconv.Atoi(m[1])
	for _, f := range fieldTypeRE.FindAllStringSubmatch(out, -1) {
		info.fields[f[1]] = f[2]
	}
	if g := regexp.MustCompile(`(?m)^Geometry: (.+)$`).FindStringSubmatch(out); g != nil {
		info.geom = g[1]
	}
	return info
}

// invalid counts the features GEOS finds invalid, through GDAL's SQLite
// dialect: COUNT(*) - SUM(ST_IsValid(geometry)).
func invalid(t *testing.T, c *collector, file, layer, geomCol string, open ...string) int {
	t.Helper()
	args := append([]string{"-ro", "-q", "-dialect", "SQLite", "-sql",
		fmt.Sprintf(`SELECT COUNT(*) - SUM(COALESCE(ST_IsValid(%s), 0)) AS invalid FROM "%s"`, geomCol, layer)}, open...)
	out, err := gdal(t, c, "ogrinfo", append(args, file)...)
	m := invalidRE.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("GEOS validity of %s %s: %v\n%s", file, layer, err, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// numericFields must be numbers at every level: a null first page must not
// make them strings (issue 13, item 4).
var numericFields = []string{"latency_p50_ms", "loss", "population"}

// TestGDALCopiesEveryCollection copies every OGC collection with ogr2ogr's
// default options, as a partner would, then checks the copy: as many
// features as the API holds, every geometry valid for GEOS, fixed numeric
// types, and not one request refused with 429.
func TestGDALCopiesEveryCollection(t *testing.T) {
	c := startCollector(t)
	testenv.LookPath(t, "ogr2ogr", "gdal-bin")
	src := "OAPIF:" + c.base + "/ogc"
	dir := t.TempDir()
	for _, id := range c.collections(t) {
		t.Run(id, func(t *testing.T) {
			want := len(c.ogcFeatures(t, id, ""))
			dst := filepath.Join(dir, id+".gpkg")
			before := c.refusals("gdal", http.StatusTooManyRequests)
			out, err := gdal(t, c, "ogr2ogr", "-f", "GPKG", dst, src, id)
			if n := c.refusals("gdal", http.StatusTooManyRequests) - before; n > 0 {
				t.Errorf("ogr2ogr of %s: the collector refused %d of its requests with 429 (the partner rate limit breaks GDAL's default paging)", id, n)
			}
			if err != nil || strings.Contains(out, "ERROR") {
				t.Fatalf("ogr2ogr of %s with default options: %v\n%s", id, err, out)
			}
			info, err := gdal(t, c, "ogrinfo", "-ro", "-so", dst, id)
			if err != nil {
				t.Fatalf("ogrinfo %s: %v\n%s", dst, err, info)
			}
			got := summary(t, info)
			if got.count != want {
				t.Errorf("ogr2ogr copied %d features of %s, the API holds %d", got.count, id, want)
			}
			if id == "regions-4" && got.count != desaInBanten {
				t.Errorf("ogr2ogr copied %d desa, Banten has %d", got.count, desaInBanten)
			}
			if want == 0 {
				// An evidence collection stays empty until a layer of its
				// kind is imported (this collector imports none); GDAL
				// reading them with rows: the collector package's
				// TestGDALReadsEvidenceCollections.
				if !strings.HasPrefix(id, "evidence-") {
					t.Errorf("%s: the API holds no feature", id)
				}
				return
			}
			if n := invalid(t, c, dst, id, "geom"); n != 0 {
				t.Errorf("%s: GEOS finds %d of %d geometries invalid", id, n, got.count)
			}
			for _, f := range numericFields {
				typ, ok := got.fields[f]
				switch {
				case !ok && strings.HasPrefix(id, "regions-"):
					t.Errorf("%s: no field %s; fields %v", id, f, got.fields)
				case ok && typ != "Real" && typ != "Integer" && typ != "Integer64":
					t.Errorf("%s: GDAL types %s as %s, want a number (Real or Integer)", id, f, typ)
				}
			}
		})
	}
}

// desaInBanten is the number of desa in banten-adm4.geojson.
const desaInBanten = 1552

// TestGDALWhereIsComplete filters the desa layer with `ogrinfo -where`:
// the answer must be every desa the API says matches, with exit code 0.
func TestGDALWhereIsComplete(t *testing.T) {
	c := startCollector(t)
	for _, tc := range []struct{ layer, where, query string }{
		// Good desa are in the Tangerangs, Serang and Cilegon: codes late in
		// the layer, many pages in.
		{"regions-4", "status = 'good'", "status=good"},
		{"regions-3", "status = 'blank'", "status=blank"},
	} {
		t.Run(tc.layer, func(t *testing.T) {
			want := len(c.ogcFeatures(t, tc.layer, tc.query))
			if want == 0 {
				t.Fatalf("the API has no %s feature with %s: the fixture's probes should make some", tc.layer, tc.query)
			}
			before := c.refusals("gdal", http.StatusTooManyRequests)
			out, err := gdal(t, c, "ogrinfo", "-ro", "-al", "-q", "-where", tc.where, "OAPIF:"+c.base+"/ogc", tc.layer)
			if err != nil {
				t.Fatalf("ogrinfo -where %q: %v\n%s", tc.where, err, tail(out, 20))
			}
			got := strings.Count(out, "OGRFeature("+tc.layer+")")
			if n := c.refusals("gdal", http.StatusTooManyRequests) - before; n > 0 {
				t.Errorf("ogrinfo -where %q: the collector refused %d requests with 429", tc.where, n)
			}
			if got != want {
				t.Errorf("ogrinfo -where %q on %s: %d features with exit code 0, the API has %d (an incomplete answer)\n%s",
					tc.where, tc.layer, got, want, tail(out, 10))
			}
		})
	}
}

// TestGDALReadsExports reads the GeoJSON and CSV exports as GDAL does, and
// a vector tile straight from the collector with /vsicurl/.
func TestGDALReadsExports(t *testing.T) {
	c := startCollector(t)
	testenv.LookPath(t, "ogrinfo", "gdal-bin")
	dir := t.TempDir()
	for level := 1; level <= 4; level++ {
		t.Run(fmt.Sprintf("geojson level %d", level), func(t *testing.T) {
			name := fmt.Sprintf("coverage-%d", level)
			file := download(t, c, fmt.Sprintf("/api/v1/export/coverage?level=%d", level), filepath.Join(dir, name+".geojson"))
			all := c.ogcFeatures(t, fmt.Sprintf("regions-%d", level), "")
			want, evidence := len(all), numbersIn(all)
			out, err := gdal(t, c, "ogrinfo", "-ro", "-so", "-al", file)
			if err != nil {
				t.Fatalf("ogrinfo %s: %v\n%s", file, err, out)
			}
			info := summary(t, out)
			if info.count != want {
				t.Errorf("GeoJSON export of level %d: %d features, the OGC collection has %d", level, info.count, want)
			}
			// A GeoJSON file carries no schema: GDAL types a field from its
			// values, so one null in every feature is a String (logged).
			for _, f := range numericFields {
				switch typ := info.fields[f]; {
				case typ == "":
					t.Errorf("GeoJSON export of level %d: no field %s", level, f)
				case typ == "String" && !evidence[f]:
					t.Logf("GeoJSON export of level %d: GDAL types %s as String; it is null in every feature", level, f)
				case typ == "String":
					t.Errorf("GeoJSON export of level %d: GDAL types %s as String though it holds numbers, want a number", level, f)
				}
			}
			if n := invalid(t, c, file, name, "geometry"); n != 0 {
				t.Errorf("GeoJSON export of level %d: GEOS finds %d of %d geometries invalid", level, n, info.count)
			}
			if d := geojsonDecimals(t, file); d > 7 {
				t.Errorf("GeoJSON export of level %d: coordinates with %d decimals, at most 7", level, d)
			}
		})
	}
	t.Run("geojson tiles", func(t *testing.T) {
		file := download(t, c, "/api/v1/export/tiles", filepath.Join(dir, "tiles.geojson"))
		if d := geojsonDecimals(t, file); d > 7 {
			t.Errorf("GeoJSON tiles export: coordinates with %d decimals, at most 7", d)
		}
		out, err := gdal(t, c, "ogrinfo", "-ro", "-so", "-al", file)
		if err != nil {
			t.Fatalf("ogrinfo %s: %v\n%s", file, err, out)
		}
		if n := summary(t, out).count; n != len(c.ogcFeatures(t, "tiles", "")) {
			t.Errorf("GeoJSON tiles export: %d features, the OGC tiles collection %d", n, len(c.ogcFeatures(t, "tiles", "")))
		}
	})
	// Both CSV exports name their geometry column alike, so one set of
	// open options reads both.
	for _, tc := range []struct{ name, path string }{
		{"coverage", "/api/v1/export/coverage?format=csv&level=2"},
		{"tiles", "/api/v1/export/tiles?format=csv"},
	} {
		t.Run("csv "+tc.name, func(t *testing.T) {
			file := download(t, c, tc.path, filepath.Join(dir, tc.name+".csv"))
			open := []string{"-oo", "GEOM_POSSIBLE_NAMES=wkt", "-oo", "KEEP_GEOM_COLUMNS=NO", "-oo", "AUTODETECT_TYPE=YES"}
			out, err := gdal(t, c, "ogrinfo", append(append([]string{"-ro", "-so", "-al"}, open...), file)...)
			if err != nil {
				t.Fatalf("ogrinfo %s: %v\n%s", file, err, out)
			}
			if d := csvDecimals(t, file); d > 7 {
				t.Errorf("CSV export %s: WKT coordinates with %d decimals, at most 7", tc.name, d)
			}
			info := summary(t, out)
			if info.count == 0 || info.geom == "" || info.geom == "None" {
				t.Fatalf("CSV export %s read with GEOM_POSSIBLE_NAMES=wkt: %d rows, geometry %q: no wkt column? header %q",
					tc.name, info.count, info.geom, csvHeader(t, file))
			}
			if n := invalid(t, c, file, tc.name, "geometry", open...); n != 0 {
				t.Errorf("CSV export %s: GEOS finds %d of %d geometries invalid", tc.name, n, info.count)
			}
		})
	}
	// The probes layer of a tile holding every probe, read from a file
	// (whatever /vsicurl/ does), lists the same probes as the OGC
	// collection, those placed by region code included.
	t.Run("vector tile probes", func(t *testing.T) {
		z, x, y := tileOfAll(c.probes)
		file := download(t, c, fmt.Sprintf("/api/v1/export/tiles/%d/%d/%d.mvt", z, x, y), filepath.Join(dir, "all.mvt"))
		out, err := gdal(t, c, "ogrinfo", "-ro", "-so", "-oo", fmt.Sprintf("Z=%d", z), "-oo", fmt.Sprintf("X=%d", x), "-oo", fmt.Sprintf("Y=%d", y), file, "probes")
		if err != nil {
			t.Fatalf("ogrinfo %s: %v\n%s", file, err, head(out, 5))
		}
		want := len(c.ogcFeatures(t, "probes", ""))
		if got := summary(t, out).count; got != want || want != len(c.probes) {
			t.Errorf("tile %d/%d/%d: the MVT probes layer holds %d probes, the OGC probes collection %d, the fixture %d (one placed by region code only)",
				z, x, y, got, want, len(c.probes))
		}
	})
	t.Run("vector tile over vsicurl", func(t *testing.T) {
		z, x, y := tileOfAll(c.probes)
		url := fmt.Sprintf("%s/api/v1/export/tiles/%d/%d/%d.mvt", c.base, z, x, y)
		out, err := gdal(t, c, "ogrinfo", "-ro", "-so", "-oo", fmt.Sprintf("Z=%d", z), "-oo", fmt.Sprintf("X=%d", x), "-oo", fmt.Sprintf("Y=%d", y),
			"/vsicurl/"+url, "probes")
		if err != nil {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+c.partners["counter"])
			req.Header.Set("Accept-Encoding", "identity") // as sent, not as Go's transport decompresses it
			var headers string
			if resp, err := politeDo(req); err == nil {
				resp.Body.Close()
				headers = fmt.Sprintf("%s, Content-Length %q, Transfer-Encoding %q", resp.Status, resp.Header.Get("Content-Length"), resp.TransferEncoding)
			}
			t.Fatalf("ogrinfo /vsicurl/%s: %v (GDAL needs Content-Length to open a file over HTTP; the tile answers %s)\n%s",
				url, err, headers, head(out, 3))
		}
		want := len(c.ogcFeatures(t, "probes", ""))
		if got := summary(t, out).count; got != want || want != len(c.probes) {
			t.Errorf("tile %d/%d/%d holds %d probes, the OGC probes collection %d, the fixture %d (one placed by region code only)",
				z, x, y, got, want, len(c.probes))
		}
	})
}

// download saves an export, fetched by the tests' own client with the
// counter partner's key.
func download(t *testing.T, c *collector, path, file string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.partners["counter"])
	resp, err := politeDo(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %v %.300s", path, resp.Status, err, body)
	}
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// geojsonDecimals is the most decimals of any coordinate in the file, as
// written (json.Number keeps the text).
func geojsonDecimals(t *testing.T, file string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var fc struct {
		Features []struct{ Geometry struct{ Coordinates any } }
	}
	if err := dec.Decode(&fc); err != nil {
		t.Fatal(err)
	}
	most := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case json.Number:
			if _, frac, ok := strings.Cut(v.String(), "."); ok {
				if e := strings.IndexAny(frac, "eE"); e >= 0 {
					frac = frac[:e]
				}
				most = max(most, len(frac))
			}
		}
	}
	for _, f := range fc.Features {
		walk(f.Geometry.Coordinates)
	}
	return most
}

var wktNumberRE = regexp.MustCompile(`-?\d+\.(\d+)`)

// csvDecimals is the most decimals of any coordinate in a WKT cell.
func csvDecimals(t *testing.T, file string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for _, row := range rows {
		for _, cell := range row {
			if strings.Contains(cell, "POLYGON") || strings.Contains(cell, "POINT") {
				for _, m := range wktNumberRE.FindAllStringSubmatch(cell, -1) {
					most = max(most, len(m[1]))
				}
			}
		}
	}
	return most
}

func csvHeader(t *testing.T, file string) string {
	t.Helper()
	data, _ := os.ReadFile(file)
	h, _, _ := strings.Cut(string(data), "\n")
	return h
}

// tileOfAll is the deepest web-mercator tile holding every probe.
func tileOfAll(probes []*probe) (z, x, y int) {
	for z = 14; z > 0; z-- {
		x, y = lonLatTile(probes[0].lon, probes[0].lat, z)
		same := true
		for _, p := range probes[1:] {
			if px, py := lonLatTile(p.lon, p.lat, z); px != x || py != y {
				same = false
			}
		}
		if same {
			return z, x, y
		}
	}
	return 0, 0, 0
}

func lonLatTile(lon, lat float64, z int) (int, int) {
	n := math.Exp2(float64(z))
	r := lat * math.Pi / 180
	return int((lon + 180) / 360 * n), int((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n)
}

func head(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
