// Package demo holds what `jangkau demo` runs on without any input files.
package demo

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/region"
)

// kabupaten is one of Banten's eight second-level regions. Codes, names and
// populations are real (Kepmendagri 2138/2025); anchor, weight and radius
// only shape the schematic map.
type kabupaten struct {
	code, name string
	population int64
	anchor     orb.Point // [lon, lat], roughly where the region lies
	weight     float64   // degrees²: a kabupaten's pull in the power diagram
	radius     float64   // degrees: a kota is the disc of this radius around its anchor
}

// The weights were fitted so that the areas come out roughly in proportion
// to the real ones (Lebak largest, then Pandeglang, Kab. Serang, Kab.
// Tangerang; the four kota a few dozen cells each).
var kabupatens = []kabupaten{
	{"36.01", "Kabupaten Pandeglang", 1437046, orb.Point{105.76, -6.58}, 0.1691, 0},
	{"36.02", "Kabupaten Lebak", 1531564, orb.Point{106.22, -6.62}, 0.1474, 0},
	{"36.03", "Kabupaten Tangerang", 3459706, orb.Point{106.45, -6.14}, 0, 0},
	{"36.04", "Kabupaten Serang", 1791795, orb.Point{106.04, -6.22}, 0.1031, 0},
	{"36.71", "Kota Tangerang", 1957349, orb.Point{106.69, -6.18}, 0, 0.075},
	{"36.72", "Kota Cilegon", 480378, orb.Point{106.00, -5.96}, 0, 0.074},
	{"36.73", "Kota Serang", 759929, orb.Point{106.17, -6.11}, 0, 0.092},
	{"36.74", "Kota Tangerang Selatan", 1463607, orb.Point{106.72, -6.30}, 0, 0.074},
}

// outline is a rough, hand-drawn outline of Banten ([lon, lat],
// counter-clockwise): the south coast eastwards from Ujung Kulon, the
// borders with West Java and Jakarta northwards, the Java Sea coast
// westwards, then the Sunda Strait coast back south.
var outline = orb.Ring{
	{105.20, -6.82}, {105.45, -6.86}, {105.85, -6.85}, {106.05, -6.83},
	{106.25, -6.95}, {106.45, -7.00}, {106.55, -6.80}, {106.50, -6.55},
	{106.62, -6.45}, {106.70, -6.37}, {106.78, -6.30}, {106.74, -6.10},
	{106.70, -6.02}, {106.50, -5.98}, {106.30, -5.93}, {106.15, -6.00},
	{106.02, -5.90}, {105.92, -5.96}, {105.88, -6.05}, {105.83, -6.30},
	{105.80, -6.45}, {105.62, -6.52}, {105.48, -6.62}, {105.22, -6.68},
	{105.12, -6.75}, {105.20, -6.82},
}

// cellDeg is the side of the square cells the map is built from: fine
// enough for the cities to have a shape, coarse enough to stay schematic.
const cellDeg = 0.025

// origin is the south-west corner of cell (0, 0), on a round grid so that
// cell corners are exact multiples of cellDeg from it.
var origin = orb.Point{105.0, -7.1}

// BantenRegions returns the 8 kabupaten/kota of Banten with their real
// Kemendagri codes, names and populations and schematic shapes, so that the
// demo shows a recognisable map without any boundary file. The province
// (36) is synthesised by region.New with the sum of the populations.
func BantenRegions() (*region.Regions, error) {
	owner := assignCells()
	regions := make([]*region.Region, len(kabupatens))
	for k, kb := range kabupatens {
		g, err := dissolve(owner, k)
		if err != nil {
			return nil, fmt.Errorf("demo region %s: %w", kb.code, err)
		}
		regions[k] = &region.Region{
			Code: kb.code, Name: kb.name, Geometry: g,
			Population: kb.population, PopulationKnown: true,
		}
	}
	rs, err := region.New(regions)
	if err != nil {
		return nil, err
	}
	// The province is synthesised from its kabupaten, which carry no
	// property naming it.
	rs.Get("36").Name = "Banten"
	return rs, nil
}

// Seat returns a point inside the schematic shape of a kabupaten/kota,
// where the demo places its probe: the centre of the cell under its anchor,
// which assignCells always gives to that region.
func Seat(code string) (lat, lon float64, ok bool) {
	for _, kb := range kabupatens {
		if kb.code == code {
			c := cellOf(kb.anchor)
			p := cellCentre(c)
			return p[1], p[0], true
		}
	}
	return 0, 0, false
}

type cell struct{ x, y int }

func cellOf(p orb.Point) cell {
	return cell{int(math.Floor((p[0] - origin[0]) / cellDeg)), int(math.Floor((p[1] - origin[1]) / cellDeg))}
}

// corner is computed the same way everywhere, so that neighbouring regions
// share their vertices bit for bit and leave no slivers between them.
func corner(x, y int) orb.Point {
	return orb.Point{origin[0] + float64(x)*cellDeg, origin[1] + float64(y)*cellDeg}
}

func cellCentre(c cell) orb.Point {
	return orb.Point{origin[0] + (float64(c.x)+0.5)*cellDeg, origin[1] + (float64(c.y)+0.5)*cellDeg}
}

// assignCells gives each cell whose centre lies inside the outline to a
// kota when it is within the kota's disc, else to the kabupaten nearest by
// power distance (squared distance minus weight). The borders between
// kabupaten are then straight lines, so each is one piece wherever the
// outline and the kota allow, and every anchor lies in its own region.
func assignCells() map[cell]int {
	b := outline.Bound()
	lo, hi := cellOf(b.Min), cellOf(b.Max)
	owner := make(map[cell]int)
	for y := lo.y; y <= hi.y; y++ {
		for x := lo.x; x <= hi.x; x++ {
			c := cell{x, y}
			if p := cellCentre(c); planar.RingContains(outline, p) {
				owner[c] = nearest(p)
			}
		}
	}
	for k, kb := range kabupatens {
		owner[cellOf(kb.anchor)] = k // the probe's seat must be its own
	}
	despeckle(owner)
	return owner
}

// despeckle gives a cell that touches no cell of its own region (a speck
// left where a kota's disc cuts a kabupaten's strip) to the region most of
// its neighbours belong to. Seats are never moved.
func despeckle(owner map[cell]int) {
	seats := make(map[cell]bool, len(kabupatens))
	for _, kb := range kabupatens {
		seats[cellOf(kb.anchor)] = true
	}
	// Decide every move on the map as it was, then apply, so the result does
	// not depend on map order.
	moves := make(map[cell]int)
	for c, o := range owner {
		if seats[c] {
			continue
		}
		votes := make(map[int]int, 4)
		alone := true
		for _, n := range [4]cell{{c.x - 1, c.y}, {c.x + 1, c.y}, {c.x, c.y - 1}, {c.x, c.y + 1}} {
			if on, ok := owner[n]; ok {
				alone = alone && on != o
				votes[on]++
			}
		}
		if !alone || len(votes) == 0 {
			continue
		}
		best := -1
		for k, v := range votes {
			if best < 0 || v > votes[best] || v == votes[best] && k < best {
				best = k
			}
		}
		moves[c] = best
	}
	for c, o := range moves {
		owner[c] = o
	}
}

func nearest(p orb.Point) int {
	best, bestScore := -1, math.Inf(1)
	for k, kb := range kabupatens {
		dx, dy := p[0]-kb.anchor[0], p[1]-kb.anchor[1]
		d2 := dx*dx + dy*dy
		if kb.radius > 0 {
			if d2 < kb.radius*kb.radius {
				return k
			}
			continue
		}
		if score := d2 - kb.weight; score < bestScore {
			best, bestScore = k, score
		}
	}
	return best
}

// dissolve traces the outer edges of region k's cells into rings: an edge
// is kept where the cell across it belongs to someone else, walked with the
// region on its left, so exteriors come out counter-clockwise and holes
// clockwise (RFC 7946). Where two cells touch only at a corner the walk
// turns left, keeping them as separate rings.
func dissolve(owner map[cell]int, k int) (orb.Geometry, error) {
	type vertex struct{ x, y int }
	var cells []cell
	for c, o := range owner {
		if o == k {
			cells = append(cells, c)
		}
	}
	if len(cells) == 0 {
		return nil, errors.New("no cells")
	}
	// Sorted, so that the same cells always give the same rings.
	slices.SortFunc(cells, func(a, b cell) int { return cmp.Or(cmp.Compare(a.y, b.y), cmp.Compare(a.x, b.x)) })
	next := make(map[vertex][]vertex) // outgoing boundary edges
	var starts []vertex
	for _, c := range cells {
		sides := [4]struct {
			across   cell
			from, to vertex
		}{
			{cell{c.x, c.y - 1}, vertex(c), vertex{c.x + 1, c.y}},                // south, eastwards
			{cell{c.x + 1, c.y}, vertex{c.x + 1, c.y}, vertex{c.x + 1, c.y + 1}}, // east, northwards
			{cell{c.x, c.y + 1}, vertex{c.x + 1, c.y + 1}, vertex{c.x, c.y + 1}}, // north, westwards
			{cell{c.x - 1, c.y}, vertex{c.x, c.y + 1}, vertex(c)},                // west, southwards
		}
		for _, s := range sides {
			if o2, ok := owner[s.across]; !ok || o2 != k {
				next[s.from] = append(next[s.from], s.to)
				starts = append(starts, s.from)
			}
		}
	}
	var exteriors, holes []orb.Ring
	for _, start := range starts {
		if len(next[start]) == 0 {
			continue // already walked
		}
		ring := []vertex{start}
		prev, cur := start, start
		for {
			outs := next[cur]
			pick := 0
			if len(outs) > 1 && cur != prev {
				// Left turn: cross product of incoming and outgoing > 0.
				din := vertex{cur.x - prev.x, cur.y - prev.y}
				for i, o := range outs {
					if din.x*(o.y-cur.y)-din.y*(o.x-cur.x) > 0 {
						pick = i
					}
				}
			}
			to := outs[pick]
			outs = append(outs[:pick], outs[pick+1:]...)
			if len(outs) == 0 {
				delete(next, cur)
			} else {
				next[cur] = outs
			}
			prev, cur = cur, to
			if cur == start {
				break
			}
			ring = append(ring, cur)
		}
		// Drop the corners where the walk goes straight on.
		var r orb.Ring
		for i, v := range ring {
			a, c := ring[(i+len(ring)-1)%len(ring)], ring[(i+1)%len(ring)]
			if (v.x-a.x)*(c.y-v.y)-(v.y-a.y)*(c.x-v.x) != 0 {
				r = append(r, corner(v.x, v.y))
			}
		}
		r = append(r, r[0])
		if r.Orientation() == orb.CCW {
			exteriors = append(exteriors, r)
		} else {
			holes = append(holes, r)
		}
	}
	return assemble(exteriors, holes)
}

// assemble puts each hole into the smallest exterior that contains it.
func assemble(exteriors, holes []orb.Ring) (orb.Geometry, error) {
	polys := make(orb.MultiPolygon, len(exteriors))
	for i, e := range exteriors {
		polys[i] = orb.Polygon{e}
	}
	for _, h := range holes {
		// A point just inside the hole: off its first edge, to the right.
		a, b := h[0], h[1]
		probe := orb.Point{(a[0]+b[0])/2 + (b[1]-a[1])/4, (a[1]+b[1])/2 - (b[0]-a[0])/4}
		best, bestArea := -1, math.Inf(1)
		for i, e := range exteriors {
			if area := math.Abs(planar.Area(e)); area < bestArea && planar.RingContains(e, probe) {
				best, bestArea = i, area
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("hole at %v has no exterior", h[0])
		}
		polys[best] = append(polys[best], h)
	}
	if len(polys) == 1 {
		return polys[0], nil
	}
	return polys, nil
}
