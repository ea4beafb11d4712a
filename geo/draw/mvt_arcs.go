package draw

import (
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/simplify"
)

// simplifyShared simplifies the polygons of one layer, in tile coordinates,
// so that a border two neighbours share is simplified once and comes out
// identical in both, as TopoJSON and mapshaper do: rings are cut into arcs
// at junctions (points where the neighbours of a border change), and each
// arc is simplified on its own in one canonical direction, so that the same
// arc gives the same points whichever ring holds it and in which direction.
// Douglas-Peucker on each ring alone moved one side of a border but not the
// other, which left slivers and overlaps between neighbours and let rings
// cross. Other geometry is simplified as before. Rings are changed in place.
func simplifyShared(gs []orb.Geometry, dp *simplify.DouglasPeuckerSimplifier) {
	var rings []*orb.Ring
	for i, g := range gs {
		switch g := g.(type) {
		case orb.Polygon:
			rings = appendRings(rings, g)
		case orb.MultiPolygon:
			for _, p := range g {
				rings = appendRings(rings, p)
			}
		default:
			gs[i] = dp.Simplify(g)
		}
	}
	junction := junctions(rings)
	for _, r := range rings {
		*r = simplifyRing(*r, junction, dp)
	}
}

func appendRings(rings []*orb.Ring, p orb.Polygon) []*orb.Ring {
	for i := range p {
		p[i] = orb.Ring(dedupe(orb.LineString(p[i])))
		if len(p[i]) >= 4 && p[i][0] == p[i][len(p[i])-1] {
			rings = append(rings, &p[i])
		}
	}
	return rings
}

// neighbours counts the distinct points next to a point along all rings,
// up to three: a point with other than two is a junction.
type neighbours struct {
	a, b orb.Point
	n    int
}

func (nb *neighbours) add(p orb.Point) {
	switch {
	case nb.n > 0 && nb.a == p, nb.n > 1 && nb.b == p, nb.n > 2:
	case nb.n == 0:
		nb.a, nb.n = p, 1
	case nb.n == 1:
		nb.b, nb.n = p, 2
	default:
		nb.n = 3
	}
}

// junctions returns the points where arcs start and end: where a ring meets
// more than one other border, or where it turns back on itself.
func junctions(rings []*orb.Ring) map[orb.Point]bool {
	nbs := make(map[orb.Point]*neighbours)
	for _, r := range rings {
		ring := *r
		m := len(ring) - 1 // the closing point repeats the first
		for i := range m {
			nb := nbs[ring[i]]
			if nb == nil {
				nb = &neighbours{}
				nbs[ring[i]] = nb
			}
			nb.add(ring[(i+m-1)%m])
			nb.add(ring[(i+1)%m])
		}
	}
	out := make(map[orb.Point]bool)
	for p, nb := range nbs {
		if nb.n != 2 {
			out[p] = true
		}
	}
	return out
}

// simplifyRing cuts a closed ring at its junctions (at its least point when
// it has none, the same point for every ring that is the same loop) and
// simplifies each arc in canonical direction.
func simplifyRing(ring orb.Ring, junction map[orb.Point]bool, dp *simplify.DouglasPeuckerSimplifier) orb.Ring {
	m := len(ring) - 1
	start := -1
	for i := range m {
		if junction[ring[i]] {
			start = i
			break
		}
	}
	if start < 0 {
		start = 0
		for i := 1; i < m; i++ {
			if less(ring[i], ring[start]) {
				start = i
			}
		}
	}
	out := orb.Ring{ring[start]}
	arc := orb.LineString{ring[start]}
	for k := 1; k <= m; k++ {
		p := ring[(start+k)%m]
		arc = append(arc, p)
		if k == m || junction[p] {
			out = append(out, simplifyArc(arc, dp)[1:]...)
			arc = orb.LineString{p}
		}
	}
	return out
}

// simplifyArc simplifies an arc as its canonical direction (first point
// below last, or for a closed arc the second below the last but one) so
// that both sides of a border keep the same points.
func simplifyArc(arc orb.LineString, dp *simplify.DouglasPeuckerSimplifier) orb.LineString {
	if len(arc) <= 2 {
		return arc
	}
	n := len(arc)
	flip := less(arc[n-1], arc[0]) || (arc[0] == arc[n-1] && less(arc[n-2], arc[1]))
	c := append(orb.LineString(nil), arc...)
	if flip {
		c.Reverse()
	}
	c = dp.LineString(c)
	if flip {
		c.Reverse()
	}
	return c
}

func less(p, q orb.Point) bool {
	return p[0] < q[0] || (p[0] == q[0] && p[1] < q[1])
}
