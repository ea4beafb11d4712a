package region

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/paulmach/orb"
	"github.com/peterstace/simplefeatures/geom"
	"github.com/peterstace/simplefeatures/rtree"
)

// Polygon overlay (union, repair) is done by simplefeatures, a pure-Go
// geometry library whose overlay nodes every crossing and checks its own
// output, so that jangkau needs neither cgo nor GEOS at run time. Geometry is
// converted at this boundary only: the rest of jangkau holds orb geometry.

// Repair records a source polygon that was invalid (self-intersecting,
// nested shells, ...) and was replaced at load by the union of itself, so
// that operators can be told which boundaries their file got wrong.
type Repair struct {
	Code    string // the region whose geometry was repaired
	Problem string // why it was invalid, as the validity check said
}

// Repairs lists the source geometries that were invalid and repaired at
// load, by code; empty when the file was clean.
func (rs *Regions) Repairs() []Repair { return append([]Repair(nil), rs.repairs...) }

// repairRegions makes every region's geometry valid (OGC simple features:
// no self-intersection, no overlapping parts) in place, in parallel, and
// reports which ones needed it. A geometry the union of itself cannot make
// valid is an error naming the region.
func repairRegions(regions []*Region) ([]Repair, error) {
	problems := make([]string, len(regions))
	err := parallel(len(regions), func(i int) error {
		r := regions[i]
		g := toSF(r.Geometry)
		verr := g.Validate()
		if verr == nil {
			return nil
		}
		fixed, err := makeValid(r.Geometry)
		if err != nil {
			return fmt.Errorf("region %s: geometry is invalid (%v) and could not be repaired (%v); fix it in the file, e.g. with ogr2ogr -makevalid", r.Code, verr, err)
		}
		og, err := fromSF(fixed)
		if err != nil {
			return fmt.Errorf("region %s: geometry is invalid (%v) and its repair %w", r.Code, verr, err)
		}
		r.Geometry, r.Bound = og, og.Bound()
		problems[i] = verr.Error()
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Repair
	for i, p := range problems {
		if p != "" {
			out = append(out, Repair{Code: regions[i].Code, Problem: p})
		}
	}
	return out, nil
}

// makeValid is the even-odd reading of a polygon, the one GIS tools draw
// and GEOS's MakeValid keeps: a point is inside when a ray from it crosses
// the rings an odd number of times, however they twist. The overlay's own
// union of an invalid polygon cannot be used for that: where a ring crosses
// itself it keeps only the lobes wound against the ring and drops the rest.
// Parity of crossings is the parity of how many of the rings' fan triangles
// (first vertex, i, i+1) cover the point, so the even-odd area is the
// symmetric difference of those triangles, done by the overlay. Valid
// polygons pass through; overlapping or nested parts are then unioned.
func makeValid(g orb.Geometry) (geom.Geometry, error) {
	polys := Polygons(g)
	parts := make([]geom.Geometry, 0, len(polys))
	for _, p := range polys {
		sp := toSF(orb.MultiPolygon{p})
		if sp.Validate() == nil {
			parts = append(parts, sp)
			continue
		}
		var tris []geom.Geometry
		for _, r := range p {
			for i := 1; i+2 < len(r); i++ {
				t := orb.Ring{r[0], r[i], r[i+1], r[0]}
				if (r[i][0]-r[0][0])*(r[i+1][1]-r[0][1]) == (r[i+1][0]-r[0][0])*(r[i][1]-r[0][1]) {
					continue // no area: flips no point's parity
				}
				tris = append(tris, toSF(orb.Polygon{t}))
			}
		}
		x, err := symDiffAll(tris)
		if err != nil {
			return geom.Geometry{}, err
		}
		parts = append(parts, x)
	}
	return geom.UnionMany(parts)
}

// symDiffAll folds the symmetric difference pairwise, as a balanced tree,
// so that each overlay works on geometry of similar size.
func symDiffAll(gs []geom.Geometry) (geom.Geometry, error) {
	if len(gs) == 0 {
		return geom.Geometry{}, nil
	}
	for len(gs) > 1 {
		next := make([]geom.Geometry, 0, (len(gs)+1)/2)
		for i := 0; i < len(gs); i += 2 {
			if i+1 == len(gs) {
				next = append(next, gs[i])
				continue
			}
			x, err := geom.SymmetricDifference(gs[i], gs[i+1])
			if err != nil {
				return geom.Geometry{}, err
			}
			next = append(next, x)
		}
		gs = next
	}
	return gs[0], nil
}

// unionGeometry dissolves the children's polygons into one valid area: the
// borders between them disappear, as a parent region's outline must.
//
// The overlay, and the check of its own output, cost most on holes: a
// parent made from desa carries thousands of sliver holes between them. A
// hole of one child that no other child reaches (not even touches) is a
// hole of the union exactly as it is, so it is kept out of the overlay and
// put back into the union's polygon that surrounds it.
func unionGeometry(kids []*Region) (orb.Geometry, error) {
	polys := make([][]orb.Polygon, len(kids))
	for i, k := range kids {
		polys[i] = Polygons(k.Geometry)
	}
	free := freeHoles(polys)
	gs := make([]geom.Geometry, len(kids))
	var aside []orb.Ring
	for i, ps := range polys {
		stripped := make(orb.MultiPolygon, len(ps))
		for j, p := range ps {
			stripped[j] = orb.Polygon{p[0]}
			for h, r := range p[1:] {
				if free[holeRef{i, j, h + 1}] {
					aside = append(aside, r)
				} else {
					stripped[j] = append(stripped[j], r)
				}
			}
		}
		gs[i] = toSF(stripped)
	}
	u, err := geom.UnionMany(gs)
	if err != nil {
		return nil, err
	}
	g, err := fromSF(u)
	if err != nil || len(aside) == 0 {
		return g, err
	}
	out := Polygons(g)
	shells := newRayIndex(out)
	for _, h := range aside {
		// The innermost shell around it: an island in another
		// polygon's hole lies inside both shells.
		at := -1
		for _, i := range shells.around(h[0]) {
			if at < 0 || area(shells.bounds[i]) < area(shells.bounds[at]) {
				at = i
			}
		}
		if at < 0 {
			return nil, fmt.Errorf("a hole at %v is in no polygon of the union", h[0])
		}
		h = slices.Clone(h)
		if h.Orientation() == orb.CCW {
			h.Reverse() // RFC 7946: holes clockwise
		}
		out[at] = append(out[at], h)
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return orb.MultiPolygon(out), nil
}

// rayIndex answers which shells of a set of polygons hold a point, by the
// parity of a ray's crossings, in an R-tree of the shells' segments: one
// ring walk per hole would cost the shell's length each time.
type rayIndex struct {
	tree   *rtree.RTree
	segs   []ownedSeg
	bounds []orb.Bound
	maxX   float64
}

type ownedSeg struct {
	owner int
	a, b  orb.Point
}

func newRayIndex(polys []orb.Polygon) *rayIndex {
	ri := &rayIndex{bounds: make([]orb.Bound, len(polys))}
	var items []rtree.BulkItem
	for i, p := range polys {
		r := p[0]
		ri.bounds[i] = r.Bound()
		ri.maxX = max(ri.maxX, ri.bounds[i].Max[0])
		for k := 1; k < len(r); k++ {
			a, b := r[k-1], r[k]
			items = append(items, rtree.BulkItem{Box: segBox(a, b), RecordID: len(ri.segs)})
			ri.segs = append(ri.segs, ownedSeg{i, a, b})
		}
	}
	ri.tree = rtree.BulkLoad(items)
	return ri
}

// around lists the shells whose ring a ray from pt crosses an odd number
// of times.
func (ri *rayIndex) around(pt orb.Point) []int {
	crossings := make(map[int]int)
	_ = ri.tree.RangeSearch(rtree.Box{MinX: pt[0], MinY: pt[1], MaxX: ri.maxX, MaxY: pt[1]}, func(id int) error {
		if s := ri.segs[id]; crosses(s.a, s.b, pt) {
			crossings[s.owner]++
		}
		return nil
	})
	var out []int
	for i, n := range crossings {
		if n%2 == 1 {
			out = append(out, i)
		}
	}
	return out
}

// crosses says whether segment ab crosses the ray from pt towards +x
// (half-open in y, so that a vertex on the ray counts once).
func crosses(a, b, pt orb.Point) bool {
	if (a[1] > pt[1]) == (b[1] > pt[1]) {
		return false
	}
	return a[0]+(pt[1]-a[1])*(b[0]-a[0])/(b[1]-a[1]) > pt[0]
}

func segBox(a, b orb.Point) rtree.Box {
	return rtree.Box{MinX: min(a[0], b[0]), MinY: min(a[1], b[1]), MaxX: max(a[0], b[0]), MaxY: max(a[1], b[1])}
}

func area(b orb.Bound) float64 { return (b.Max[0] - b.Min[0]) * (b.Max[1] - b.Min[1]) }

// holeRef names ring ring of polygon poly of child kid.
type holeRef struct{ kid, poly, ring int }

// freeHoles finds the holes of each child's polygon that no other polygon
// reaches, of another child or of the same (an island in the hole): no
// segment of another polygon comes near the hole's bound, and no other
// polygon holds a point of it (a ray from that point crosses its rings an
// even number of times).
func freeHoles(polys [][]orb.Polygon) map[holeRef]bool {
	type owner struct{ kid, poly int }
	type seg struct {
		owner
		a, b orb.Point
	}
	var segs []seg
	var items []rtree.BulkItem
	for k, ps := range polys {
		for j, p := range ps {
			for _, r := range p {
				for i := 1; i < len(r); i++ {
					a, b := r[i-1], r[i]
					items = append(items, rtree.BulkItem{Box: segBox(a, b), RecordID: len(segs)})
					segs = append(segs, seg{owner{k, j}, a, b})
				}
			}
		}
	}
	if len(items) == 0 {
		return nil
	}
	tree := rtree.BulkLoad(items)
	var maxX float64
	for _, it := range items {
		maxX = max(maxX, it.Box.MaxX)
	}
	free := make(map[holeRef]bool)
	stop := errors.New("stop")
	for k, ps := range polys {
		for j, p := range ps {
			for h, r := range p[1:] {
				b := r.Bound()
				near := tree.RangeSearch(rtree.Box{MinX: b.Min[0], MinY: b.Min[1], MaxX: b.Max[0], MaxY: b.Max[1]}, func(id int) error {
					if segs[id].owner != (owner{k, j}) {
						return stop
					}
					return nil
				})
				if near != nil {
					continue
				}
				pt := r[0]
				crossings := make(map[owner]int)
				_ = tree.RangeSearch(rtree.Box{MinX: pt[0], MinY: pt[1], MaxX: maxX, MaxY: pt[1]}, func(id int) error {
					s := segs[id]
					if s.owner != (owner{k, j}) && crosses(s.a, s.b, pt) {
						crossings[s.owner]++
					}
					return nil
				})
				held := false
				for _, n := range crossings {
					held = held || n%2 == 1
				}
				if !held {
					free[holeRef{k, j, h + 1}] = true
				}
			}
		}
	}
	return free
}

// parallel runs fn(0..n-1) on every CPU and returns the first error, so
// that loading a desa file costs what the largest union costs, not the sum.
func parallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// toSF converts an orb Polygon or MultiPolygon without validating it: the
// caller decides what an invalid one means.
func toSF(g orb.Geometry) geom.Geometry {
	polys := Polygons(g)
	out := make([]geom.Polygon, len(polys))
	for i, p := range polys {
		rings := make([]geom.LineString, len(p))
		for j, r := range p {
			xy := make([]float64, 0, 2*len(r))
			for _, pt := range r {
				xy = append(xy, pt[0], pt[1])
			}
			rings[j] = geom.NewLineString(geom.NewSequence(xy, geom.DimXY))
		}
		out[i] = geom.NewPolygon(rings)
	}
	return geom.NewMultiPolygon(out).AsGeometry()
}

// fromSF converts an overlay result back to orb, exterior rings
// counter-clockwise as RFC 7946 asks. Overlays of areas may also yield
// lower-dimensional leftovers in a collection; only the areas are kept.
func fromSF(g geom.Geometry) (orb.Geometry, error) {
	var polys []geom.Polygon
	collect := func(g geom.Geometry) {
		switch g.Type() {
		case geom.TypePolygon:
			polys = append(polys, g.MustAsPolygon())
		case geom.TypeMultiPolygon:
			polys = append(polys, g.MustAsMultiPolygon().Dump()...)
		}
	}
	if g.IsGeometryCollection() {
		for _, part := range g.MustAsGeometryCollection().Dump() {
			collect(part)
		}
	} else {
		collect(g)
	}
	var mp orb.MultiPolygon
	for _, p := range polys {
		if p.IsEmpty() {
			continue
		}
		p = p.ForceCCW()
		var op orb.Polygon
		for _, r := range p.DumpRings() {
			seq := r.Coordinates()
			ring := make(orb.Ring, seq.Length())
			for i := range ring {
				xy := seq.GetXY(i)
				ring[i] = orb.Point{xy.X, xy.Y}
			}
			op = append(op, ring)
		}
		mp = append(mp, op)
	}
	switch len(mp) {
	case 0:
		return nil, fmt.Errorf("left no area (%s)", g.Summary())
	case 1:
		return mp[0], nil
	}
	return mp, nil
}

// Validate says why g (a Polygon or MultiPolygon) is not valid in the OGC
// simple features sense that GEOS checks, or nil when it is.
func Validate(g orb.Geometry) error { return toSF(g).Validate() }

// Dissolve returns the union of g (a Polygon or MultiPolygon) with itself:
// where rings cross, the overlay puts a point and keeps what the winding
// encloses, valid. It is the cheap repair for slightly twisted rings, such
// as those rounding to a vector tile's grid makes; a twisted source polygon
// needs makeValid's even-odd reading instead.
func Dissolve(g orb.Geometry) (orb.Geometry, error) {
	u, err := geom.UnaryUnion(toSF(g))
	if err != nil {
		return nil, err
	}
	return fromSF(u)
}
