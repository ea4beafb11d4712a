package httpapi

import (
	"bytes"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paulmach/orb/geojson"
)

// regionFeatures are Banten's desa with properties of every kind a
// coverage answer has (strings, numbers, null, a NaN made null).
func regionFeatures(tb testing.TB) ([]RegionFeature, *geojson.FeatureCollection) {
	rs := bantenDesa(tb)
	var feats []RegionFeature
	fc := geojson.NewFeatureCollection()
	for i, reg := range rs.Level(rs.Deepest()) {
		p := geojson.Properties{"code": reg.Code, "name": reg.Name + ` "<&>"`, "level": reg.Level,
			"availability": Nullable(float64(i%7) / 7), "loss": Nullable(math.NaN()), "samples": i * 3, "last_seen": nil}
		feats = append(feats, RegionFeature{Region: reg, Properties: p})
		f := geojson.NewFeature(reg.Geometry)
		f.ID = reg.Code
		f.Properties = p
		fc.Append(f)
	}
	return feats, fc
}

// The outlines encoded once give the very bytes the general GeoJSON
// writer gives, so clients (and ETags) see no difference.
func TestRegionCollectionSameBytes(t *testing.T) {
	feats, fc := regionFeatures(t)
	q := View{Level: 4}
	q.From, q.To = time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC), time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	var g RegionGeometries
	for round := range 2 { // the second round reads the kept outlines
		got, err := RegionCollection(&g, feats, q)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := geoJSONBody(httptest.NewRecorder(), fc, q)
		if !ok {
			t.Fatal("geoJSONBody failed")
		}
		if len(want) < 1<<20 {
			t.Fatalf("the reference body is %d bytes: not the desa outlines", len(want))
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("round %d: bodies differ at byte %d of %d/%d: %q vs %q", round, i, len(got), len(want),
				got[max(0, i-40):min(len(got), i+40)], want[max(0, i-40):min(len(want), i+40)])
		}
	}
	// Without a level, and with an empty collection.
	q.Level = 0
	got, _ := RegionCollection(&g, nil, q)
	want, _ := geoJSONBody(httptest.NewRecorder(), geojson.NewFeatureCollection(), q)
	if !bytes.Equal(got, want) {
		t.Fatalf("empty: %s, want %s", got, want)
	}
}

func BenchmarkRegionCollectionBanten(b *testing.B) {
	feats, fc := regionFeatures(b)
	q := View{Level: 4}
	q.From, q.To = time.Now().Add(-24*time.Hour), time.Now()
	b.Run("general", func(b *testing.B) {
		for b.Loop() {
			geoJSONBody(httptest.NewRecorder(), fc, q)
		}
	})
	b.Run("kept-outlines", func(b *testing.B) {
		var g RegionGeometries
		for b.Loop() {
			if _, err := RegionCollection(&g, feats, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}
