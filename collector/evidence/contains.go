package evidence

import (
	"math"

	"github.com/paulmach/orb"
)

// stripIndex answers point-in-polygon for a large polygon (a carrier's
// coverage over a kabupaten has tens of thousands of vertices) without
// walking every edge: the polygon's bound is cut into horizontal strips,
// each listing the edges that reach into it, and a point's ray crossing
// test (even-odd, over the outer ring and the holes) looks at its strip's
// edges only. It is the interval index of the Rust geo crate's
// IntervalTreeMultiPolygon, on a fixed grid; orb tests every edge, and
// simplefeatures rebuilds its index on every call.
type stripIndex struct {
	bound  orb.Bound
	minY   float64
	invH   float64 // strips per degree
	strips [][]edge
}

type edge struct{ a, b orb.Point }

// edgesPerStrip sets the strips: about this many edges in each.
const edgesPerStrip = 8

func newStripIndex(p orb.Polygon) *stripIndex {
	n := 0
	for _, r := range p {
		n += len(r)
	}
	b := p.Bound()
	k := max(1, min(n/edgesPerStrip, 1<<14))
	h := b.Max[1] - b.Min[1]
	if h <= 0 {
		h = 1
	}
	s := &stripIndex{bound: b, minY: b.Min[1], invH: float64(k) / h, strips: make([][]edge, k)}
	for _, r := range p {
		for i := range r {
			a, c := r[i], r[(i+1)%len(r)]
			if a == c {
				continue
			}
			lo, hi := s.strip(math.Min(a[1], c[1])), s.strip(math.Max(a[1], c[1]))
			for j := lo; j <= hi; j++ {
				s.strips[j] = append(s.strips[j], edge{a, c})
			}
		}
	}
	return s
}

func (s *stripIndex) strip(y float64) int {
	return max(0, min(int((y-s.minY)*s.invH), len(s.strips)-1))
}

// contains says whether pt lies inside the polygon (a point on an edge may
// go either way).
func (s *stripIndex) contains(pt orb.Point) bool {
	if !s.bound.Contains(pt) {
		return false
	}
	in := false
	x, y := pt[0], pt[1]
	for _, e := range s.strips[s.strip(y)] {
		a, b := e.a, e.b
		if (a[1] > y) != (b[1] > y) && x < (b[0]-a[0])*(y-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}
