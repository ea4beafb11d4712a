package demo

import (
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/region"
)

func bantenRegions(t *testing.T) *region.Regions {
	t.Helper()
	rs, err := BantenRegions()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestBantenRegions(t *testing.T) {
	rs := bantenRegions(t)
	want := []struct {
		code, name string
		population int64
	}{
		{"36.01", "Kabupaten Pandeglang", 1437046},
		{"36.02", "Kabupaten Lebak", 1531564},
		{"36.03", "Kabupaten Tangerang", 3459706},
		{"36.04", "Kabupaten Serang", 1791795},
		{"36.71", "Kota Tangerang", 1957349},
		{"36.72", "Kota Cilegon", 480378},
		{"36.73", "Kota Serang", 759929},
		{"36.74", "Kota Tangerang Selatan", 1463607},
	}
	got := rs.Level(2)
	if len(got) != len(want) {
		t.Fatalf("%d regions at level 2, want %d", len(got), len(want))
	}
	for i, w := range want {
		r := got[i]
		if r.Code != w.code || r.Name != w.name || r.Population != w.population || !r.PopulationKnown || r.Synthetic {
			t.Errorf("region %d = %s %q %d (known %v, synthetic %v), want %s %q %d",
				i, r.Code, r.Name, r.Population, r.PopulationKnown, r.Synthetic, w.code, w.name, w.population)
		}
	}
	if l := rs.Levels(); !slices.Equal(l, []int{1, 2}) || rs.Deepest() != 2 {
		t.Errorf("Levels() = %v, Deepest() = %d", l, rs.Deepest())
	}
	prov := rs.Get("36")
	if prov == nil || prov.Name != "Banten" || !prov.Synthetic || !prov.PopulationKnown || prov.Population != 12881374 {
		t.Errorf("province = %+v, want synthetic with population 12,881,374", prov)
	}
	b := rs.Bound()
	if b.Min[0] < 105.0 || b.Max[0] > 106.9 || b.Min[1] < -7.1 || b.Max[1] > -5.8 {
		t.Errorf("bound %v is not Banten's", b)
	}
}

func TestSeat(t *testing.T) {
	rs := bantenRegions(t)
	for _, r := range rs.Level(2) {
		lat, lon, ok := Seat(r.Code)
		if !ok {
			t.Errorf("no seat for %s", r.Code)
			continue
		}
		if got := rs.Locate(lat, lon); got == nil || got.Code != r.Code {
			t.Errorf("Seat(%s) = %g,%g locates to %v", r.Code, lat, lon, got)
		}
	}
	if _, _, ok := Seat("36.99"); ok {
		t.Error("Seat of an unknown code is ok")
	}
}

// TestShapes checks on a fine lattice of points (off the cell grid, so none
// lies on an edge) that no point is in two regions and that the regions
// cover the outline but for the cells cut by its edge.
func TestShapes(t *testing.T) {
	rs := bantenRegions(t)
	regions := rs.Level(2)
	b := outline.Bound()
	var inside, covered, edge int
	for lat := b.Min[1] + 0.0013; lat < b.Max[1]; lat += 0.0071 {
		for lon := b.Min[0] + 0.0017; lon < b.Max[0]; lon += 0.0071 {
			pt := orb.Point{lon, lat}
			var in []string
			for _, r := range regions {
				if contains(r.Geometry, pt) {
					in = append(in, r.Code)
				}
			}
			if len(in) > 1 {
				t.Fatalf("%v is in %v", pt, in)
			}
			inOutline := planar.RingContains(outline, pt)
			if inOutline {
				inside++
			}
			if len(in) == 1 {
				covered++
			}
			if inOutline != (len(in) == 1) {
				edge++
			}
		}
	}
	// Cells along the coast are in or out whole; that is all that may differ.
	if float64(edge) > 0.05*float64(inside) {
		t.Errorf("%d of %d points differ between the outline and the regions", edge, inside)
	}

	var sum float64
	for _, r := range regions {
		sum += planar.Area(r.Geometry)
	}
	want := planar.Area(outline)
	t.Logf("regions %.4f deg², outline %.4f (%+.2f%%); %d of %d lattice points differ", sum, want, 100*(sum-want)/want, edge, inside)
	if math.Abs(sum-want) > 0.01*want {
		t.Errorf("regions cover %.4f deg², outline %.4f: more than 1%% apart", sum, want)
	}
}

func contains(g orb.Geometry, pt orb.Point) bool {
	switch g := g.(type) {
	case orb.Polygon:
		return planar.PolygonContains(g, pt)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, pt)
	}
	return false
}

// TestRings checks RFC 7946 winding and that the dissolve left no internal
// cell edges: a region's rings are as few as its pieces and holes, and no
// vertex sits in the middle of a straight run.
func TestRings(t *testing.T) {
	for _, r := range bantenRegions(t).Level(2) {
		var polys []orb.Polygon
		switch g := r.Geometry.(type) {
		case orb.Polygon:
			polys = []orb.Polygon{g}
		case orb.MultiPolygon:
			polys = g
		}
		for _, p := range polys {
			checkPolygon(t, r.Code, p)
		}
	}
}

func checkPolygon(t *testing.T, code string, p orb.Polygon) {
	t.Helper()
	for i, ring := range p {
		want := orb.CCW
		if i > 0 {
			want = orb.CW
		}
		if got := ring.Orientation(); got != want {
			t.Errorf("%s ring %d: orientation %v, want %v", code, i, got, want)
		}
		if !ring.Closed() || len(ring) < 5 {
			t.Errorf("%s ring %d: %d points, closed %v", code, i, len(ring), ring.Closed())
		}
		for j := 1; j < len(ring)-1; j++ {
			a, v, c := ring[j-1], ring[j], ring[j+1]
			if (v[0]-a[0])*(c[1]-v[1])-(v[1]-a[1])*(c[0]-v[0]) == 0 {
				t.Errorf("%s ring %d: vertex %v is on a straight run", code, i, v)
			}
		}
	}
}

func TestDissolveHoleAndPinch(t *testing.T) {
	// Region 0: a 3x3 block with its centre cell (region 1) cut out, and a
	// cell touching the block only at a corner.
	owner := map[cell]int{}
	for x := 0; x < 3; x++ {
		for y := 0; y < 3; y++ {
			owner[cell{x, y}] = 0
		}
	}
	owner[cell{1, 1}] = 1
	owner[cell{3, 3}] = 0
	g, err := dissolve(owner, 0)
	if err != nil {
		t.Fatal(err)
	}
	mp, ok := g.(orb.MultiPolygon)
	if !ok || len(mp) != 2 {
		t.Fatalf("got %T with %d parts, want a MultiPolygon of 2", g, len(mp))
	}
	rings := []int{len(mp[0]), len(mp[1])}
	slices.Sort(rings)
	if !slices.Equal(rings, []int{1, 2}) {
		t.Errorf("rings per polygon %v, want the block with its hole and the lone cell", rings)
	}
	for _, p := range mp {
		checkPolygon(t, "block", p)
	}
	if a, want := planar.Area(g), 9*cellDeg*cellDeg; math.Abs(a-want) > 1e-12 {
		t.Errorf("area %g, want %g (9 cells)", a, want)
	}
	if _, err := dissolve(owner, 2); err == nil {
		t.Error("no error for a region without cells")
	}
}

func TestBantenRegionsDeterministic(t *testing.T) {
	a, b := bantenRegions(t), bantenRegions(t)
	for _, r := range a.Level(2) {
		if !orb.Equal(r.Geometry, b.Get(r.Code).Geometry) {
			t.Errorf("%s differs between two calls", r.Code)
		}
	}
}
