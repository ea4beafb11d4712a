package region

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/paulmach/orb"
	"github.com/peterstace/simplefeatures/geom"
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
func unionGeometry(kids []*Region) (orb.Geometry, error) {
	gs := make([]geom.Geometry, len(kids))
	for i, k := range kids {
		gs[i] = toSF(k.Geometry)
	}
	u, err := geom.UnionMany(gs)
	if err != nil {
		return nil, err
	}
	return fromSF(u)
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
