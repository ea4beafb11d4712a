package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/internal/cputime"
	"github.com/jangkau/jangkau/internal/testenv"
)

// bantenCells are Banten's desa as coverage cells with figures of every
// kind (NaN, unknown population, a time or none).
func bantenCells(tb testing.TB) []coverage.RegionCell {
	rs := bantenDesa(tb)
	var cells []coverage.RegionCell
	for i, reg := range rs.Level(rs.Deepest()) {
		c := coverage.RegionCell{Region: reg, Status: coverage.Statuses[i%len(coverage.Statuses)], Probes: i % 3,
			Population: int64(i * 100), PopulationKnown: i%4 != 0, PopulationEstimated: i%5 == 0,
			PeopleAffected: int64(i), MeasuredTiles: i % 9, Tiles: 9}
		c.Samples = i * 7
		c.Availability, c.Loss, c.P50, c.P95 = float64(i%7)/7, math.NaN(), float64(i), math.NaN()
		if i%2 == 0 {
			c.LastSeen = time.Date(2026, 12, 3, 1, 0, i%60, 0, time.UTC)
		}
		cells = append(cells, c)
	}
	return cells
}

// wantRegionCells is the answer the general GeoJSON writer gives.
func wantRegionCells(t *testing.T, cells []coverage.RegionCell, q View) []byte {
	t.Helper()
	fc := geojson.NewFeatureCollection()
	for _, c := range cells {
		f := geojson.NewFeature(c.Region.Geometry)
		f.ID = c.Region.Code
		f.Properties = RegionProperties(c)
		fc.Append(f)
	}
	want, ok := geoJSONBody(httptest.NewRecorder(), fc, q)
	if !ok {
		t.Fatal("geoJSONBody failed")
	}
	return want
}

// A coverage answer gzipped from parts compressed apart is one gzip
// member that Go's reader and gzip(1) (zlib) inflate to the very bytes
// of the plain answer, which are those the general GeoJSON writer gives;
// after some regions change, the reused parts still give the new
// answer, and the ETag follows the bytes.
func TestRegionCellsGzipParts(t *testing.T) {
	gzipTool := testenv.LookPath(t, "gzip", "gzip")
	var g RegionGeometries
	var cells []coverage.RegionCell
	q := View{Level: 4}
	srv := httptest.NewServer(Compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		RevalidatedRegionCells(w, r, &g, cells, q)
	}))) // as the collector serves it
	defer srv.Close()
	get := func(accept string) ([]byte, http.Header) {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Accept-Encoding", accept)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(raw)) {
			t.Fatalf("Accept-Encoding %q: Content-Length %q for %d bytes", accept, cl, len(raw))
		}
		return raw, resp.Header
	}

	cells = bantenCells(t)
	var etags []string
	for round, change := range []func(){
		func() {},
		func() {}, // the same again: every part reused
		func() { // some regions change, the last one too
			for i := 0; i < len(cells); i += 13 {
				cells[i].Samples++
			}
			cells[len(cells)-1].Status = coverage.StatusBlank
			cells[len(cells)-1].LastSeen = time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
		},
		func() {
			q.From, q.To = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
		},
		func() { cells = cells[:len(cells)-1] }, // the last one was kept with a comma before
		func() { cells = cells[:0] },
	} {
		change()
		want := wantRegionCells(t, cells, q)
		plain, h := get("identity")
		if !bytes.Equal(plain, want) {
			t.Fatalf("round %d: the plain answer (%d bytes) is not the GeoJSON writer's (%d bytes)", round, len(plain), len(want))
		}
		etags = append(etags, h.Get("ETag"))
		if len(want) < gzipMinSize {
			continue // sent as it is
		}
		z, hz := get("gzip")
		if hz.Get("Content-Encoding") != "gzip" {
			t.Fatalf("round %d: Content-Encoding %q", round, hz.Get("Content-Encoding"))
		}
		if hz.Get("ETag") != strings.TrimSuffix(h.Get("ETag"), `"`)+gzipETagSuffix+`"` {
			t.Fatalf("round %d: ETag %s for gzip, %s plain", round, hz.Get("ETag"), h.Get("ETag"))
		}
		br := bytes.NewReader(z)
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("round %d: inflating: %v", round, err)
		}
		if br.Len() != 0 {
			t.Fatalf("round %d: %d bytes after the first gzip member", round, br.Len())
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: Go's gzip reader inflated %d bytes, want the %d of the plain answer", round, len(got), len(want))
		}
		members := exec.Command(gzipTool, "-dc")
		members.Stdin = bytes.NewReader(append(z, z...)) // two members: each must end where it should
		out, err := members.Output()
		if err != nil {
			t.Fatalf("round %d: gzip -dc: %v", round, err)
		}
		if !bytes.Equal(out, append(want, want...)) {
			t.Fatalf("round %d: gzip -dc inflated %d bytes of two answers, want 2×%d", round, len(out), len(want))
		}
	}
	for i, e := range etags {
		if i == 1 && e != etags[0] {
			t.Errorf("the same answer twice has ETags %s and %s", etags[0], e)
		}
		if i > 1 && e == etags[i-1] {
			t.Errorf("round %d: the answer changed and kept its ETag %s", i, e)
		}
	}
}

// regionKeyOf covers every figure RegionProperties reads: a change of
// any field of a cell that changes the properties changes the key too,
// else a kept answer would be served with stale properties.
func TestRegionKeyCoversProperties(t *testing.T) {
	base := bantenCells(t)[2]
	props := func(c coverage.RegionCell) string {
		b, err := json.Marshal(RegionProperties(c))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cell := base
	checked := 0
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			if f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[time.Time]() {
				walk(f, name+".")
				continue
			}
			if !f.CanSet() {
				continue
			}
			saved := reflect.ValueOf(f.Interface())
			switch f.Kind() {
			case reflect.Int, reflect.Int64:
				f.SetInt(f.Int() + 1)
			case reflect.Float64:
				f.SetFloat(f.Float() + 0.25)
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.String:
				f.SetString(f.String() + "x")
			case reflect.Struct: // time.Time
				f.Set(reflect.ValueOf(f.Interface().(time.Time).Add(time.Hour)))
			default:
				continue // the region (the key's owner) and the kinds' map (not a property)
			}
			if props(cell) != props(base) {
				checked++
				if regionKeyOf(&cell) == regionKeyOf(&base) {
					t.Errorf("%s changes the properties but not the key", name)
				}
			}
			f.Set(saved)
		}
	}
	walk(reflect.ValueOf(&cell).Elem(), "")
	if checked < 12 {
		t.Fatalf("only %d fields change the properties: the walk missed the cell's figures", checked)
	}
}

// discardWriter is an http.ResponseWriter that counts what is written.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkRegionCellsAnswer is a repeated desa answer of Banten, gzipped,
// while a few regions (200 of 1,552) change between two answers: whole
// (the collection encoded, hashed and gzipped as one body) and parts
// (the outlines compressed once, unchanged properties reused).
func BenchmarkRegionCellsAnswer(b *testing.B) {
	cells := bantenCells(b)
	q := View{Level: 4}
	q.From, q.To = time.Now().Add(-24*time.Hour), time.Now()
	req := httptest.NewRequest("GET", "/api/v1/coverage", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, g *RegionGeometries)
	}{
		{"whole", func(w http.ResponseWriter, g *RegionGeometries) {
			feats := make([]RegionFeature, len(cells))
			for i, c := range cells {
				feats[i] = RegionFeature{Region: c.Region, Properties: RegionProperties(c)}
			}
			body, err := RegionCollection(g, feats, q)
			if err != nil {
				b.Fatal(err)
			}
			Revalidated(w, req, GeoJSONType, body)
		}},
		{"parts", func(w http.ResponseWriter, g *RegionGeometries) { RevalidatedRegionCells(w, req, g, cells, q) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var g RegionGeometries
			tc.answer(&discardWriter{h: http.Header{}}, &g)
			n := 0
			cpu := cputime.NewClock(b)
			for b.Loop() {
				b.StopTimer()
				for range 200 {
					n = (n + 7919) % len(cells)
					cells[n].Samples++
				}
				b.StartTimer()
				w := &discardWriter{h: http.Header{}}
				cpu.Start()
				tc.answer(w, &g)
				cpu.Stop()
				b.ReportMetric(float64(w.n), "gzip-bytes")
			}
			cpu.Report()
		})
	}
}
