package synth

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/region"
)

// small is two provinces, small enough to check point by point.
var small = Options{Seed: 7, Provinces: 2, Kabupaten: 9, Kecamatan: 60, Desa: 700,
	Bound: orb.Bound{Min: orb.Point{105, -7}, Max: orb.Point{107, -6}}}

func load(t *testing.T, c *Country, levels ...int) *region.Regions {
	t.Helper()
	var buf bytes.Buffer
	if err := c.WriteGeoJSON(&buf, WriteOptions{Levels: levels}); err != nil {
		t.Fatal(err)
	}
	rs, err := region.Load(&buf, region.LoadOptions{PopulationProperty: "penduduk"})
	if err != nil {
		t.Fatalf("the loader refuses levels %v: %v", levels, err)
	}
	if r := rs.Repairs(); len(r) > 0 {
		t.Fatalf("levels %v: %d invalid geometries the loader had to repair, first %+v", levels, len(r), r[0])
	}
	return rs
}

var codePattern = regexp.MustCompile(`^\d{2}(\.\d{2}(\.\d{2,3}(\.[12]\d{3})?)?)?$`)

// TestCountryIsValidForTheLoader checks what a load test relies on: the
// loader takes the file at every level without repair, codes are
// Kemendagri-shaped, the counts are near what was asked, and the land is
// tiled: every sample point lies in exactly one desa, and in exactly that
// desa's ancestors at every level above, whether the loader unions the
// parents itself or reads them from the file.
func TestCountryIsValidForTheLoader(t *testing.T) {
	c, err := Generate(small)
	if err != nil {
		t.Fatal(err)
	}
	want := [5]int{0, small.Provinces, small.Kabupaten, small.Kecamatan, small.Desa}
	for level := 1; level <= 4; level++ {
		n := len(c.Levels[level])
		if d := n - want[level]; d*10 > want[level] || -d*10 > want[level] {
			t.Errorf("level %d: %d regions, asked for %d (more than 10%% off)", level, n, want[level])
		}
	}
	unioned := load(t, c, 4)
	explicit := load(t, c, 1, 2, 3, 4)
	for level := 1; level <= 4; level++ {
		for _, rs := range []*region.Regions{unioned, explicit} {
			if got := len(rs.Level(level)); got != len(c.Levels[level]) {
				t.Errorf("level %d: loader has %d regions, generator made %d", level, got, len(c.Levels[level]))
			}
		}
		for _, r := range c.Levels[level] {
			if !codePattern.MatchString(r.Code) || region.CodeLevel(r.Code) != level {
				t.Errorf("code %q at level %d is not a Kemendagri code of that level", r.Code, level)
			}
		}
	}
	var people int64
	for _, d := range c.Levels[4] {
		people += d.Population
	}
	for _, p := range unioned.Level(1) {
		people -= p.Population
		if !p.PopulationKnown {
			t.Errorf("province %s: population unknown", p.Code)
		}
	}
	if people != 0 || len(c.Levels[4]) > 0 && c.Levels[4][0].Population <= 0 {
		t.Errorf("provinces' population differs from the desa's sum by %d", people)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	b := c.Bound()
	for range 3000 {
		pt := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
		var in []string
		for _, d := range explicit.Level(4) {
			if d.Bound.Contains(pt) && planar.PolygonContains(d.Geometry.(orb.Polygon), pt) {
				in = append(in, d.Code)
			}
		}
		if len(in) != 1 {
			t.Fatalf("point %v lies in %d desa %v, want exactly 1", pt, len(in), in)
		}
		for _, rs := range []*region.Regions{unioned, explicit} {
			if got := rs.Locate(pt[1], pt[0]); got == nil || got.Code != in[0] {
				t.Fatalf("point %v: loader locates it in %v, brute force in desa %s", pt, got, in[0])
			}
		}
		for level := 1; level <= 3; level++ {
			anc := region.Ancestor(in[0], level)
			for _, rs := range []*region.Regions{unioned, explicit} {
				for _, r := range rs.Level(level) {
					inside := r.Bound.Contains(pt) && contains(r.Geometry, pt)
					if inside != (r.Code == anc) {
						t.Fatalf("point %v in desa %s: inside level-%d region %s is %v (synthetic %v)", pt, in[0], level, r.Code, inside, r.Synthetic)
					}
				}
			}
		}
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

// TestGenerateIsDeterministic: a load test is only repeatable if the same
// seed gives the same file.
func TestGenerateIsDeterministic(t *testing.T) {
	write := func(seed uint64) []byte {
		o := small
		o.Seed = seed
		c, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := c.WriteGeoJSON(&buf, WriteOptions{Levels: []int{1, 2, 3, 4}}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b := write(7), write(7)
	if len(a) < 1000 || !bytes.Equal(a, b) {
		t.Errorf("seed 7 twice: %d and %d bytes, equal %v", len(a), len(b), bytes.Equal(a, b))
	}
	if bytes.Equal(a, write(8)) {
		t.Error("seeds 7 and 8 gave the same country")
	}
}

func TestGenerateRefusesShrinkingCounts(t *testing.T) {
	if _, err := Generate(Options{Provinces: 5, Kabupaten: 3}); err == nil {
		t.Error("3 kabupaten in 5 provinces accepted")
	}
}
