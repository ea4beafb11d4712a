package evidence

import (
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/region"
)

// TestStripIndexAgreesWithOrb: on the real kabupaten of Banten (holes,
// islands, thousands of vertices) the index answers as orb's plain test
// does, for random points over each bound.
func TestStripIndexAgreesWithOrb(t *testing.T) {
	rs := loadBanten(t)
	rng := rand.New(rand.NewPCG(1, 2))
	tested, inside := 0, 0
	for _, k := range rs.Level(2) {
		for _, poly := range region.Polygons(k.Geometry) {
			idx := newStripIndex(poly)
			b := poly.Bound()
			for range 300 {
				pt := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
				want := planar.PolygonContains(poly, pt)
				if got := idx.contains(pt); got != want {
					t.Fatalf("%s: %v inside: index says %v, orb %v", k.Code, pt, got, want)
				}
				tested++
				if want {
					inside++
				}
			}
		}
	}
	if inside == 0 || inside == tested {
		t.Fatalf("%d of %d points inside: the test says nothing", inside, tested)
	}
	t.Logf("%d points, %d inside", tested, inside)
}
