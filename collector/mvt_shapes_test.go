package collector

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// TestMVTShapesKeepGeometryOnly: a tile drawn from the shape cache shows
// the status of the moment, not the one it had when its shapes were made.
func TestMVTShapesKeepGeometryOnly(t *testing.T) {
	f := newFixture(t, nil)
	east := orb.Point{100.75, 0.25}
	zt := maptile.At(east, 10)
	status := func() any {
		t.Helper()
		code, body := f.raw(fmt.Sprintf("/tiles/10/%d/%d.mvt", zt.X, zt.Y))
		if code != 200 {
			t.Fatalf("mvt: %d %s", code, body)
		}
		layers, err := mvt.Unmarshal([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			for _, ft := range l.Features {
				if l.Name == "regions" && ft.Properties["code"] == "99.01.02" {
					return ft.Properties["status"]
				}
			}
		}
		t.Fatalf("tile %v has no region 99.01.02", zt)
		return nil
	}
	before := status()
	if n := f.srv.shapes.Tiles(); n != 1 {
		t.Fatalf("after one tile the shape cache holds %d tiles, want 1", n)
	}
	if code, _, raw := f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: results(1, 20, f.now, false, 5)})); code != 200 {
		t.Fatalf("ingest: %d %s", code, raw)
	}
	if after := status(); after != "blank" || after == before {
		t.Errorf("status of 99.01.02 after failing results: %v (before %v), want blank", after, before)
	}
	if n, bytes := f.srv.shapes.Tiles(), f.srv.shapes.Bytes(); n != 1 || bytes == 0 {
		t.Errorf("after the same tile again the shape cache holds %d tiles of %d bytes, want the one", n, bytes)
	}
	for name, want := range map[string]float64{"jangkau_tile_shapes": 1, "jangkau_tile_shapes_bytes": float64(f.srv.shapes.Bytes())} {
		if got := gaugeValue(t, f, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// BenchmarkMVTBanten times GET /tiles through the collector's handler on
// the Banten desa file: the province (level=1) and the kabupaten tiles at
// zoom 7 and 8, with the shape cache off (every request makes the borders)
// and on (each tile asked once before: the cache hits).
func BenchmarkMVTBanten(b *testing.B) {
	rs, err := region.LoadFile(geotest.File(b, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, cache := range []int64{0, DefaultConfig.Tiles.ShapeCacheBytes} {
		h := benchHandler(b, rs, cache)
		for _, tc := range []struct {
			name  string
			paths []string
		}{
			{"province-z7", tilePaths(rs.Bound(), 7, "?level=1")},
			{"kabupaten-z7", tilePaths(rs.Bound(), 7, "")},
			{"kabupaten-z8", tilePaths(rs.Bound(), 8, "")},
		} {
			b.Run(fmt.Sprintf("%s-%dtiles/cache=%d", tc.name, len(tc.paths), cache), func(b *testing.B) {
				get := func() {
					for _, p := range tc.paths {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
						if w.Code != http.StatusOK && w.Code != http.StatusNoContent {
							b.Fatalf("%s: %d %s", p, w.Code, w.Body)
						}
					}
				}
				get() // the cache's first request, untimed
				for b.Loop() {
					get()
				}
			})
		}
	}
}

func benchHandler(b *testing.B, rs *region.Regions, cache int64) http.Handler {
	cfg := DefaultConfig
	cfg.PublicRead = true
	cfg.Tiles.ShapeCacheBytes = cache
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	st, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	srv, err := NewServer(&cfg, st, rs, slog.New(slog.DiscardHandler), Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler()
}

// tilePaths are the /tiles addresses of zoom z over bound.
func tilePaths(bound orb.Bound, z int, query string) []string {
	var out []string
	for t := range tilecover.Bound(bound, maptile.Zoom(z)) {
		out = append(out, fmt.Sprintf("/tiles/%d/%d/%d.mvt%s", t.Z, t.X, t.Y, query))
	}
	return out
}

// gaugeValue reads one unlabelled gauge from f's registry.
func gaugeValue(t *testing.T, f *fixture, name string) float64 {
	t.Helper()
	for _, mf := range gathered(t, f) {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
