package draw

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Rounding to the tile's grid and simplifying can pinch a ring: a narrow
// inlet or a sliver between two parts collapses, so that the ring comes
// back to a point it passed (a self-touching ring, which GEOS calls
// invalid) or runs out and back along the same segment (a spike). Both are
// fixed without new points, so the result stays on the grid: spikes are
// cut, and a ring is split into simple loops at every repeated point. A
// loop wound as its ring keeps its role; a loop wound against a shell is a
// hole (the "inverted hole" of the pinch), against a hole an island, which
// is too small to draw and dropped.

// splitPolygon returns p, its rings cleaned, as the polygons its loops
// make: shells with the holes they contain.
func splitPolygon(p orb.Polygon) []orb.Polygon {
	nodeRings(p)
	var shells, holes []orb.Ring
	for i, r := range p {
		shellWise := ringSigned(p[0]) > 0
		for _, loop := range loops(r) {
			a := ringSigned(loop)
			if a == 0 {
				continue
			}
			isShell := (a > 0) == shellWise
			if i > 0 && isShell {
				continue // an island inside a hole: below a pixel
			}
			if isShell {
				shells = append(shells, loop)
			} else {
				holes = append(holes, loop)
			}
		}
	}
	if len(shells) == 0 {
		return nil
	}
	out := make([]orb.Polygon, len(shells))
	for i, s := range shells {
		out[i] = orb.Polygon{s}
	}
	if len(shells) == 1 {
		out[0] = append(out[0], holes...)
		return out
	}
	bounds := make([]orb.Bound, len(shells))
	for i, s := range shells {
		bounds[i] = s.Bound()
	}
	points := make([]map[orb.Point]bool, len(shells))
	for _, h := range holes {
		if i := holder(shells, bounds, points, h); i >= 0 {
			out[i] = append(out[i], h)
		}
	}
	return out
}

// holder is the index of the shell that holds hole h, judged by a point of
// h that is not a point of the shell; -1 for none. points caches each
// shell's points as a set.
func holder(shells []orb.Ring, bounds []orb.Bound, points []map[orb.Point]bool, h orb.Ring) int {
	hb := h.Bound()
	for i, s := range shells {
		if !bounds[i].Contains(hb.Min) || !bounds[i].Contains(hb.Max) {
			continue
		}
		if points[i] == nil {
			points[i] = make(map[orb.Point]bool, len(s))
			for _, p := range s {
				points[i][p] = true
			}
		}
		for _, p := range h {
			if !points[i][p] {
				if planar.RingContains(s, p) {
					return i
				}
				break
			}
		}
	}
	return -1
}

// loops cuts spikes from a closed ring and splits it at repeated points
// into closed loops, each with no repeated point.
func loops(r orb.Ring) []orb.Ring {
	if len(r) < 4 {
		return nil
	}
	var out []orb.Ring
	stack := make(orb.LineString, 0, len(r))
	at := make(map[orb.Point]int, len(r))
	for _, p := range r[:len(r)-1] {
		for n := len(stack); n >= 2 && backtracks(stack[n-2], stack[n-1], p); n-- {
			delete(at, stack[n-1]) // a spike: out and (part way) back
			stack = stack[:n-1]
		}
		if n := len(stack); n > 0 && stack[n-1] == p {
			continue
		}
		if i, ok := at[p]; ok {
			loop := append(orb.Ring(nil), stack[i:]...)
			loop = append(loop, p)
			for _, q := range stack[i+1:] {
				delete(at, q)
			}
			stack = stack[:i+1]
			if len(loop) >= 4 {
				out = append(out, loop)
			}
			continue
		}
		at[p] = len(stack)
		stack = append(stack, p)
	}
	// Spikes across the seam: the ring's first point is the tip.
	for len(stack) >= 3 && stack[1] == stack[len(stack)-1] {
		stack = stack[1 : len(stack)-1]
	}
	if len(stack) >= 3 {
		out = append(out, append(orb.Ring(stack), stack[0]))
	}
	return out
}

// ringSigned is the ring's signed area (shoelace).
func ringSigned(r orb.Ring) float64 {
	a := 0.0
	for i := 1; i < len(r); i++ {
		a += r[i-1][0]*r[i][1] - r[i][0]*r[i-1][1]
	}
	return a / 2
}

// backtracks says whether the path a, b, c turns back on itself at b: c on
// the line through a and b, on a's side of b.
func backtracks(a, b, c orb.Point) bool {
	ux, uy := b[0]-a[0], b[1]-a[1]
	vx, vy := c[0]-b[0], c[1]-b[1]
	return ux*vy-uy*vx == 0 && ux*vx+uy*vy < 0
}

// nodeRings snap-rounds the rings of one polygon to the grid: where two
// segments cross or touch, the crossing rounded to the grid becomes a point
// of both, so that rings meet only at shared points, where loops can cut
// them. Rounding the crossing bends the segments a little, which may make
// new crossings nearby: the pass repeats until none is left, a few times at
// most. Floor-rounding a thin inlet or sliver to the grid, and clipping
// (which runs a ring along the tile's edge more than once), make such
// crossings. It returns whether the rings are free of crossings.
func nodeRings(rings []orb.Ring) bool {
	for range 4 {
		if !nodeOnce(rings) {
			return true
		}
	}
	return false
}

type segRef struct{ ring, i int }

// nodeOnce does one pass of nodeRings; false when nothing crossed.
// Candidate pairs come from a sweep over x: segments sorted by their least
// x, each compared with those that start before it ends.
func nodeOnce(rings []orb.Ring) bool {
	type seg struct {
		ref    segRef
		a, b   orb.Point
		bounds orb.Bound
	}
	var segs []seg
	for ri, r := range rings {
		for i := 1; i < len(r); i++ {
			a, b := r[i-1], r[i]
			segs = append(segs, seg{segRef{ri, i}, a, b, orb.Bound{Min: orb.Point{math.Min(a[0], b[0]), math.Min(a[1], b[1])}, Max: orb.Point{math.Max(a[0], b[0]), math.Max(a[1], b[1])}}})
		}
	}
	slices.SortFunc(segs, func(s, t seg) int { return cmp.Compare(s.bounds.Min[0], t.bounds.Min[0]) })
	var add map[segRef][]orb.Point
	for m, s := range segs {
		for _, t := range segs[m+1:] {
			if t.bounds.Min[0] > s.bounds.Max[0] {
				break
			}
			if t.bounds.Min[1] > s.bounds.Max[1] || t.bounds.Max[1] < s.bounds.Min[1] {
				continue
			}
			p, ok := crossing(s.a, s.b, t.a, t.b)
			if !ok {
				continue
			}
			if add == nil {
				add = make(map[segRef][]orb.Point)
			}
			if p != s.a && p != s.b {
				add[s.ref] = append(add[s.ref], p)
			}
			if p != t.a && p != t.b {
				add[t.ref] = append(add[t.ref], p)
			}
		}
	}
	if len(add) == 0 {
		return false
	}
	for ri, r := range rings {
		out := make(orb.Ring, 0, len(r))
		for i := 1; i < len(r); i++ {
			a, b := r[i-1], r[i]
			out = append(out, a)
			on := add[segRef{ri, i}]
			dx, dy := b[0]-a[0], b[1]-a[1]
			slices.SortFunc(on, func(p, q orb.Point) int {
				return cmp.Compare((p[0]-a[0])*dx+(p[1]-a[1])*dy, (q[0]-a[0])*dx+(q[1]-a[1])*dy)
			})
			for _, p := range on {
				if p != out[len(out)-1] {
					out = append(out, p)
				}
			}
		}
		rings[ri] = append(out, r[len(r)-1])
	}
	return true
}

// crossing is where segments ab and cd meet, rounded to the grid, when
// they meet anywhere but at a shared end; for collinear overlapping
// segments, an end of one inside the other.
func crossing(a, b, c, d orb.Point) (orb.Point, bool) {
	for _, p := range [][3]orb.Point{{a, b, c}, {a, b, d}, {c, d, a}, {c, d, b}} {
		if onSegment(p[0], p[1], p[2]) {
			return p[2], true
		}
	}
	if a == c || a == d || b == c || b == d {
		return orb.Point{}, false // adjacent, or meeting at an end
	}
	o := func(p, q, r orb.Point) float64 { return (q[0]-p[0])*(r[1]-p[1]) - (q[1]-p[1])*(r[0]-p[0]) }
	d1, d2, d3, d4 := o(c, d, a), o(c, d, b), o(a, b, c), o(a, b, d)
	if d1*d2 >= 0 || d3*d4 >= 0 {
		return orb.Point{}, false
	}
	t := d1 / (d1 - d2)
	return orb.Point{math.Round(a[0] + t*(b[0]-a[0])), math.Round(a[1] + t*(b[1]-a[1]))}, true
}

// onSegment says whether p lies on segment ab, its ends excluded.
func onSegment(a, b, p orb.Point) bool {
	ux, uy := b[0]-a[0], b[1]-a[1]
	vx, vy := p[0]-a[0], p[1]-a[1]
	if ux*vy-uy*vx != 0 {
		return false
	}
	d := ux*vx + uy*vy
	return d > 0 && d < ux*ux+uy*uy
}
