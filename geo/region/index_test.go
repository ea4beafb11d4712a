package region

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/geotest"
)

func TestLocateFixture(t *testing.T) {
	rs := loadFixture(t)
	tests := []struct {
		name     string
		lat, lon float64
		want     string
	}{
		{"west square", -0.2, 100.2, "99.01.01"},
		{"in the hole", -0.5, 100.5, ""},
		{"second", -0.5, 101.5, "99.01.02"},
		{"multipolygon main", -0.5, 102.5, "99.02.01"},
		{"multipolygon island", -1.7, 102.3, "99.02.01"},
		{"sea beside the island", -1.7, 102.8, ""},
		{"from the id", -0.5, 103.9, "99.02.02"},
		{"east of all", -0.5, 104.5, ""},
		{"north of all", 0.5, 101.5, ""},
		{"far corner", 0, 104, "99.02.02"},
		{"not a number", math.NaN(), 100.5, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if r := rs.Locate(tc.lat, tc.lon); r != nil {
				got = r.Code
			}
			if got != tc.want {
				t.Errorf("Locate(%g, %g) = %q, want %q", tc.lat, tc.lon, got, tc.want)
			}
		})
	}
}

func loadADM4(t testing.TB) *Regions {
	t.Helper()
	rs, err := LoadFile(geotest.File(t, "banten-adm4.geojson"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// scanLocate is the reference: every deepest region in code order, no
// index. withBound skips regions whose bbox misses the point, which gives the
// same answers sooner.
func scanLocate(leaves []*Region, pt orb.Point, withBound bool) *Region {
	for _, r := range leaves {
		if withBound && !r.Bound.Contains(pt) {
			continue
		}
		switch g := r.Geometry.(type) {
		case orb.Polygon:
			if planar.PolygonContains(g, pt) {
				return r
			}
		case orb.MultiPolygon:
			if planar.MultiPolygonContains(g, pt) {
				return r
			}
		}
	}
	return nil
}

// randomPoints are uniform over b with a fixed seed, so runs compare.
func randomPoints(b orb.Bound, n int) []orb.Point {
	rng := rand.New(rand.NewPCG(1, 2))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{
			b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]),
			b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]),
		}
	}
	return pts
}

func TestLocateAgreesWithScan(t *testing.T) {
	rs := loadADM4(t)
	leaves := rs.Level(rs.Deepest())
	hits := 0
	for _, pt := range randomPoints(rs.Bound(), 10000) {
		got, want := rs.Locate(pt[1], pt[0]), scanLocate(leaves, pt, true)
		if got != want {
			t.Fatalf("at %v: index %v, scan %v", pt, name(got), name(want))
		}
		if got != nil {
			hits++
		}
	}
	// Banten fills about half of its bound; far fewer hits means a broken index.
	if hits < 3000 {
		t.Errorf("only %d of 10000 points inside a desa", hits)
	}
}

func name(r *Region) string {
	if r == nil {
		return "nil"
	}
	return r.Code
}

func TestLocateCentroids(t *testing.T) {
	path := geotest.File(t, "banten-adm4.geojson")
	rs := loadADM4(t)
	fc := readCollection(t, path)
	ok := 0
	for _, f := range fc.Features {
		kab := f.Properties.MustString("kab_kode")
		lat, lon := f.Properties.MustFloat64("src_centroid_lat"), f.Properties.MustFloat64("src_centroid_lng")
		if r := rs.Locate(lat, lon); r != nil && Within(r.Code, kab) {
			ok++
		}
	}
	t.Logf("%d of %d desa centroids locate within their kabupaten", ok, len(fc.Features))
	if len(fc.Features) != 1552 || ok < 1540 {
		t.Errorf("%d of %d centroids within their kabupaten, want at least 1540 of 1552", ok, len(fc.Features))
	}
}

func readCollection(t testing.TB, path string) *geojson.FeatureCollection {
	t.Helper()
	data, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		t.Fatal(err)
	}
	return fc
}

func BenchmarkLocate(b *testing.B) {
	rs := loadADM4(b)
	pts := randomPoints(rs.Bound(), 1<<16)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pt := pts[i&(len(pts)-1)]
		rs.Locate(pt[1], pt[0])
	}
}

func BenchmarkLocateScan(b *testing.B) {
	rs := loadADM4(b)
	leaves := rs.Level(rs.Deepest())
	pts := randomPoints(rs.Bound(), 1<<16)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		scanLocate(leaves, pts[i&(len(pts)-1)], false)
	}
}

// TestLocateWithParentsInTheFile: a file that holds parents too answers
// the deepest region where a child covers the point, and the parent where
// none does, on cells a child covers whole, in part, or not at all.
func TestLocateWithParentsInTheFile(t *testing.T) {
	sq := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
	}
	rs, err := New([]*Region{
		{Code: "36", Geometry: sq(0, 0, 4, 4)},
		{Code: "36.01", Geometry: sq(0, 0, 4, 2)},
		{Code: "36.01.01", Geometry: sq(0, 0, 1.3, 1.3)},
		{Code: "36.02", Geometry: sq(0, 2, 2.5, 4)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x, y float64
		want string
	}{
		{0.5, 0.5, "36.01.01"}, {1.29, 1.29, "36.01.01"}, {1.31, 1.29, "36.01"}, {3.5, 1.5, "36.01"},
		{1, 3, "36.02"}, {2.49, 3.9, "36.02"}, {2.51, 3.9, "36"}, {3.5, 3.5, "36"}, {4.5, 1, "nil"},
	} {
		if got := name(rs.Locate(c.y, c.x)); got != c.want {
			t.Errorf("(%g, %g): located in %s, want %s", c.x, c.y, got, c.want)
		}
	}
}

// TestLocateLargeOutlines: outlines of more than bandVertices points are
// clipped to their grid row before their cells; a wavy outline of 800
// points with a wavy hole, beside a small square, answers as a scan does.
func TestLocateLargeOutlines(t *testing.T) {
	wavy := func(cx, cy, r float64, n int, cw bool) orb.Ring {
		ring := make(orb.Ring, 0, n+1)
		for i := range n {
			a := 2 * math.Pi * float64(i) / float64(n)
			if cw {
				a = -a
			}
			rr := r * (1 + 0.15*math.Sin(37*a))
			ring = append(ring, orb.Point{cx + rr*math.Cos(a), cy + rr*math.Sin(a)})
		}
		return append(ring, ring[0])
	}
	big := orb.Polygon{wavy(106, -6, 1, 800, false), wavy(106.2, -6.1, 0.3, 300, true)}
	if len(big[0]) <= bandVertices {
		t.Fatalf("outline of %d points: the test no longer reaches the row clipping", len(big[0]))
	}
	sq := orb.Polygon{{{107.3, -6}, {107.5, -6}, {107.5, -5.8}, {107.3, -5.8}, {107.3, -6}}}
	rs, err := New([]*Region{{Code: "36.01", Geometry: big}, {Code: "36.02", Geometry: sq}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs.Repairs(); len(r) > 0 {
		t.Fatalf("test polygons invalid: %+v", r)
	}
	leaves := rs.Level(2)
	hits := 0
	for _, pt := range randomPoints(rs.Bound(), 10000) {
		got, want := rs.Locate(pt[1], pt[0]), scanLocate(leaves, pt, true)
		if got != want {
			t.Fatalf("at %v: index %v, scan %v", pt, name(got), name(want))
		}
		if got != nil {
			hits++
		}
	}
	if hits < 2500 {
		t.Errorf("only %d of 10000 points inside a region", hits)
	}
}
