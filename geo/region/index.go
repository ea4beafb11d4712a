package region

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/planar"
)

// Regions is a loaded hierarchy with a point index. It is read-only after
// construction, so one value may serve every goroutine of the collector.
type Regions struct {
	byCode  map[string]*Region
	levels  map[int][]*Region // sorted by code
	order   []int             // levels, ascending
	deepest int
	bound   orb.Bound
	grid    grid
	repairs []Repair // source geometries made valid at load
}

// New builds the hierarchy and the index from regions made in code (the
// demo's schematic map, tests). Level and Bound are filled in from Code and
// Geometry; missing ancestors are synthesised as Load does.
func New(regions []*Region) (*Regions, error) {
	if len(regions) == 0 {
		return nil, errors.New("no regions")
	}
	seen := make(map[string]bool, len(regions))
	for i, r := range regions {
		if r == nil {
			return nil, fmt.Errorf("region %d is nil", i)
		}
		if r.Code == "" {
			return nil, fmt.Errorf("region %d: code is empty", i)
		}
		if err := checkCode(r.Code); err != nil {
			return nil, fmt.Errorf("region %d: %w", i, err)
		}
		if seen[r.Code] {
			return nil, fmt.Errorf("region %d: duplicate code %q", i, r.Code)
		}
		seen[r.Code] = true
		if err := checkGeometry(r.Geometry); err != nil {
			return nil, fmt.Errorf("region %d (%s): %w", i, r.Code, err)
		}
		r.Level = CodeLevel(r.Code)
		r.Bound = r.Geometry.Bound()
		if r.Name == "" {
			r.Name = r.Code
		}
	}
	return build(regions, nil)
}

// build synthesises missing ancestors bottom-up, so that each one can be
// made from children that are already complete, then indexes the regions.
// parentNames holds, per region, the ancestor names its feature carried.
func build(regions []*Region, parentNames map[*Region]map[int]string) (*Regions, error) {
	rs := &Regions{byCode: make(map[string]*Region, len(regions)*5/4), levels: make(map[int][]*Region)}
	for _, r := range regions {
		rs.byCode[r.Code] = r
		rs.deepest = max(rs.deepest, r.Level)
	}
	var synthetic []*Region
	for _, r := range regions {
		for p := Parent(r.Code); p != ""; p = Parent(p) {
			if rs.byCode[p] != nil {
				break
			}
			s := &Region{Code: p, Name: p, Level: CodeLevel(p), Synthetic: true}
			rs.byCode[p] = s
			synthetic = append(synthetic, s)
		}
	}
	children := make(map[string][]*Region, len(rs.byCode))
	for code, r := range rs.byCode {
		if p := Parent(code); p != "" {
			children[p] = append(children[p], r)
		}
	}
	repairs, err := repairRegions(regions)
	if err != nil {
		return nil, err
	}
	rs.repairs = repairs
	// Level by level, deepest first: a synthetic region's children are then
	// all complete, and the regions of one level are unioned in parallel.
	byLevel := make(map[int][]*Region)
	var levels []int
	for _, s := range synthetic {
		if byLevel[s.Level] == nil {
			levels = append(levels, s.Level)
		}
		byLevel[s.Level] = append(byLevel[s.Level], s)
	}
	slices.Sort(levels)
	for _, level := range slices.Backward(levels) {
		list := byLevel[level]
		err := parallel(len(list), func(i int) error {
			s := list[i]
			kids := children[s.Code]
			sortByCode(kids)
			return dissolveChildren(s, kids)
		})
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			kids := children[s.Code]
			if names := parentNames[kids[0]]; names != nil {
				if n := names[s.Level]; n != "" {
					s.Name = n
				}
				parentNames[s] = names
			}
		}
	}
	for _, r := range rs.byCode {
		rs.levels[r.Level] = append(rs.levels[r.Level], r)
	}
	for level, list := range rs.levels {
		sortByCode(list)
		rs.order = append(rs.order, level)
	}
	slices.Sort(rs.order)
	rs.bound = regions[0].Bound
	for _, r := range regions[1:] {
		rs.bound = rs.bound.Union(r.Bound)
	}
	// Only real regions are indexed: a synthetic one is exactly the union of
	// its children, so it could never be the deepest answer.
	rs.grid = newGrid(slices.Clone(regions))
	return rs, nil
}

// dissolveChildren gives a synthetic region the union of its children,
// merged into one valid area (see unionGeometry), and their population.
func dissolveChildren(s *Region, kids []*Region) error {
	g, err := unionGeometry(kids)
	if err != nil {
		return fmt.Errorf("region %s: union of its %d children: %w", s.Code, len(kids), err)
	}
	s.Geometry, s.Bound = g, g.Bound()
	all := true
	for _, k := range kids {
		s.Population += k.Population
		all = all && k.PopulationKnown
	}
	s.PopulationKnown = all
	if !all {
		s.Population = 0
	}
	return nil
}

// Polygons flattens the two geometries a region may have, Polygon and
// MultiPolygon, into one list, so that drawing and indexing need one loop;
// nil for any other geometry.
func Polygons(g orb.Geometry) []orb.Polygon {
	switch g := g.(type) {
	case orb.Polygon:
		return []orb.Polygon{g}
	case orb.MultiPolygon:
		return g
	}
	return nil
}

func sortByCode(list []*Region) {
	slices.SortFunc(list, func(a, b *Region) int { return strings.Compare(a.Code, b.Code) })
}

// Get returns the region with this code, nil if unknown.
func (rs *Regions) Get(code string) *Region { return rs.byCode[code] }

// Level returns the regions of one level sorted by code (nil if none), as a
// fresh slice the caller may reorder.
func (rs *Regions) Level(n int) []*Region { return slices.Clone(rs.levels[n]) }

// Levels lists the levels present, ascending, so callers can offer a
// choice of map granularity that exists.
func (rs *Regions) Levels() []int { return slices.Clone(rs.order) }

// Deepest is the deepest level read from the source, the finest level at
// which the boundaries are real rather than roll-ups.
func (rs *Regions) Deepest() int { return rs.deepest }

// Bound covers every region; the default view of a map.
func (rs *Regions) Bound() orb.Bound { return rs.bound }

// Locate returns the deepest-level region containing the point, nil if
// none. A point on a shared boundary goes to one of its regions, always the
// same one. It is indexed, because the collector places every result.
func (rs *Regions) Locate(lat, lon float64) *Region {
	if math.IsNaN(lat) || math.IsNaN(lon) {
		return nil // Bound.Contains would let NaN through
	}
	return rs.grid.locate(orb.Point{lon, lat})
}

// grid is a uniform grid over the bound of the regions read from the source. Each cell holds the pieces
// of the polygons that reach into it, clipped to the cell, in priority
// order (deeper level first, then code). A polygon that covers a cell whole
// is a piece with no geometry: most lookups away from boundaries then need
// no point-in-polygon test at all, and those near one test a few vertices
// instead of a whole desa outline.
type grid struct {
	bound      orb.Bound
	cols, rows int
	invW, invH float64 // cells per degree
	start      []int32 // cell i's pieces are pieces[start[i]:start[i+1]]
	pieces     []piece
}

type piece struct {
	bound  orb.Bound   // of poly; unused when poly is nil
	poly   orb.Polygon // clipped to the cell; nil when the region covers the cell
	region *Region
}

// cellsPerRegion sets the grid's resolution from the number of regions.
// Finer cells mean more cells wholly inside one region and smaller clipped
// pieces, at the cost of memory; 16 is past the knee of the lookup time
// (the sweep is in docs/benchmarks.md).
const cellsPerRegion = 16

// cellPad widens a cell when clipping, so that a point rounded into a
// neighbouring cell is still tested against the right geometry.
const cellPad = 1e-9

// newGrid indexes regions (it reorders the slice it is given).
func newGrid(regions []*Region) grid {
	slices.SortFunc(regions, func(a, b *Region) int {
		if a.Level != b.Level {
			return b.Level - a.Level
		}
		return strings.Compare(a.Code, b.Code)
	})
	var g grid
	g.bound = regions[0].Bound
	for _, r := range regions {
		g.bound = g.bound.Union(r.Bound)
	}
	w, h := g.bound.Max[0]-g.bound.Min[0], g.bound.Max[1]-g.bound.Min[1]
	w, h = math.Max(w, 1e-9), math.Max(h, 1e-9)
	cells := float64(cellsPerRegion * len(regions))
	g.cols = max(int(math.Ceil(math.Sqrt(cells*w/h))), 1)
	g.rows = max(int(math.Ceil(cells/float64(g.cols))), 1)
	g.invW, g.invH = float64(g.cols)/w, float64(g.rows)/h

	type entry struct {
		cell int32
		piece
	}
	var entries []entry
	// A cell that a region covers whole answers every lookup there with
	// it, so the regions after it in priority order (the parents a file
	// also holds) need no piece, nor a clip, in that cell.
	covered := make([]bool, g.cols*g.rows)
	for _, r := range regions {
		for _, p := range Polygons(r.Geometry) {
			g.split(p, covered, func(cell int, poly orb.Polygon) {
				e := entry{cell: int32(cell), piece: piece{poly: poly, region: r}}
				if poly != nil {
					e.bound = poly.Bound()
				} else {
					covered[cell] = true
				}
				entries = append(entries, e)
			})
		}
	}
	// Entries arrive in priority order; a stable sort by cell keeps it.
	slices.SortStableFunc(entries, func(a, b entry) int { return int(a.cell - b.cell) })
	g.start = make([]int32, g.cols*g.rows+1)
	g.pieces = make([]piece, len(entries))
	for i, e := range entries {
		g.start[e.cell+1]++
		g.pieces[i] = e.piece
	}
	for i := 1; i < len(g.start); i++ {
		g.start[i] += g.start[i-1]
	}
	return g
}

// split calls fn for each cell that polygon p reaches into and that is
// not covered yet, with p clipped to the cell, or nil when p covers the
// cell whole. Cells that the bbox of one of p's edges touches get clipped
// (a safe over-estimate); the others lie wholly inside or outside p, which
// the parity of p's crossings with the row's centre line left of the
// cell's centre decides: one pass over p's edges per polygon rather than a
// point-in-polygon test per cell, which cost a large region's vertex count
// times its cell count.
func (g *grid) split(p orb.Polygon, covered []bool, fn func(cell int, poly orb.Polygon)) {
	b := p.Bound()
	x0, y0 := g.cell(b.Min)
	x1, y1 := g.cell(b.Max)
	nx, ny := x1-x0+1, y1-y0+1
	edge := make([]bool, nx*ny)
	crossings := make([][]float64, ny)
	for _, ring := range p {
		for i := 1; i < len(ring); i++ {
			a, b := ring[i-1], ring[i]
			ex0, ey0 := g.cell(orb.Point{math.Min(a[0], b[0]) - cellPad, math.Min(a[1], b[1]) - cellPad})
			ex1, ey1 := g.cell(orb.Point{math.Max(a[0], b[0]) + cellPad, math.Max(a[1], b[1]) + cellPad})
			for y := max(ey0, y0); y <= min(ey1, y1); y++ {
				for x := max(ex0, x0); x <= min(ex1, x1); x++ {
					edge[(y-y0)*nx+x-x0] = true
				}
				if cy := g.rowCenter(y); (a[1] > cy) != (b[1] > cy) {
					crossings[y-y0] = append(crossings[y-y0], a[0]+(cy-a[1])*(b[0]-a[0])/(b[1]-a[1]))
				}
			}
		}
	}
	// A large polygon is clipped to each row first and the row's piece to
	// its cells: clipping the whole of a province's outline once per
	// border cell cost its vertex count each time, in time and garbage.
	large := 0
	for _, ring := range p {
		large += len(ring)
	}
	for y := y0; y <= y1; y++ {
		xs := crossings[y-y0]
		slices.Sort(xs)
		k := 0 // crossings left of the current cell's centre
		src, clipped := p, false
		for x := x0; x <= x1; x++ {
			cell := y*g.cols + x
			cx := g.bound.Min[0] + (float64(x)+0.5)/g.invW
			for k < len(xs) && xs[k] < cx {
				k++
			}
			if covered[cell] {
				continue
			}
			if !edge[(y-y0)*nx+x-x0] {
				if k%2 == 1 {
					fn(cell, nil)
				}
				continue
			}
			if large > bandVertices && !clipped {
				row := orb.Bound{Min: orb.Point{b.Min[0], g.cellBound(x, y).Min[1]}, Max: orb.Point{b.Max[0], g.cellBound(x, y).Max[1]}}
				src, clipped = clip.Polygon(row.Pad(2*cellPad), p.Clone()), true
			}
			if len(src) == 0 {
				continue
			}
			// clip.Polygon reuses its input's memory: give it a copy, and
			// keep a copy of its answer, which would otherwise hold the
			// whole of the input's points for the few in the cell.
			piece := clip.Polygon(g.cellBound(x, y).Pad(cellPad), src.Clone())
			if len(piece) > 0 && len(piece[0]) >= 4 {
				fn(cell, piece.Clone())
			}
		}
	}
}

// bandVertices is the size above which split clips a polygon row by row.
const bandVertices = 256

// rowCenter is the latitude of the centre line of grid row y.
func (g *grid) rowCenter(y int) float64 { return g.bound.Min[1] + (float64(y)+0.5)/g.invH }

func (g *grid) cellBound(x, y int) orb.Bound {
	return orb.Bound{
		Min: orb.Point{g.bound.Min[0] + float64(x)/g.invW, g.bound.Min[1] + float64(y)/g.invH},
		Max: orb.Point{g.bound.Min[0] + float64(x+1)/g.invW, g.bound.Min[1] + float64(y+1)/g.invH},
	}
}

// cell clamps, so that points on the far edge fall in the last cell.
func (g *grid) cell(p orb.Point) (x, y int) {
	x = int((p[0] - g.bound.Min[0]) * g.invW)
	y = int((p[1] - g.bound.Min[1]) * g.invH)
	return min(max(x, 0), g.cols-1), min(max(y, 0), g.rows-1)
}

func (g *grid) locate(pt orb.Point) *Region {
	if !g.bound.Contains(pt) {
		return nil
	}
	x, y := g.cell(pt)
	c := y*g.cols + x
	for i := g.start[c]; i < g.start[c+1]; i++ {
		p := &g.pieces[i]
		if p.poly == nil || p.bound.Contains(pt) && planar.PolygonContains(p.poly, pt) {
			return p.region
		}
	}
	return nil
}
