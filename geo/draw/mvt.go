package draw

import (
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/simplify"

	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// The layers the collector serves, named here so that it and map styles
// agree on them.
const (
	MVTLayerRegions = "regions" // one polygon per region of the asked level, with its status
	MVTLayerTiles   = "tiles"   // one square per measured tile, with its status
	MVTLayerProbes  = "probes"  // one point per probe
)

// MVTExtent is the tile's coordinate range, the spec's and every renderer's
// default: at 512 px per tile a unit is an eighth of a pixel.
const MVTExtent = mvt.DefaultExtent

// mvtBuffer is how far, in extent units, geometry reaches past the tile's
// edge, so that strokes and labels at the edge are drawn whole by the
// renderer (64 of 4096, 1/64 of the tile, as tippecanoe and PostGIS use).
const mvtBuffer = 64

// mvtTolerance is the Douglas-Peucker tolerance in extent units. In tile
// coordinates one tolerance simplifies as much at every zoom: a unit is what
// the tile can still show, so detail below it only costs bytes.
const mvtTolerance = 1.0

// minHoleArea is the area, in square extent units, below which a hole is
// left out of a tile: 64 is a pixel at 512 px a tile.
const minHoleArea = 64

// ErrTile is wrapped by the error for a z/x/y that names no tile, so that an
// API can answer 404 without matching texts.
var ErrTile = errors.New("geo: no such tile")

// MVTLayer is one named layer of a vector tile.
type MVTLayer struct {
	Name     string // unique within a tile, as the spec requires
	Features []MVTFeature
	// Shapes, when set, is the layer's geometry prepared for this tile by
	// PrepareMVTShapes: each feature is drawn with the shape of its Key,
	// or left out when there is none, and its own Geometry is ignored.
	Shapes *MVTShapes
}

// MVTFeature is one feature in lon/lat (RFC 7946), as the rest of jangkau
// holds geometry; EncodeMVT projects it. Properties with a nil value are
// left out, as MVT has no null; maps and slices are written as JSON
// strings, as other encoders do.
type MVTFeature struct {
	Geometry   orb.Geometry // any orb geometry but a Collection; nil is skipped
	Properties map[string]any
	// Key names the feature's shape in its layer's Shapes.
	Key string
}

// EncodeMVT writes tile z/x/y as a Mapbox Vector Tile 2.1 of the given
// layers: geometry is clipped to the tile plus a small buffer, projected to
// a 4096 extent, simplified to what that extent shows (a border that
// neighbours share once, so that it stays shared), and cleaned so that
// rings wind as the spec says (exterior clockwise on screen) and polygons
// are valid as GEOS judges them, which GDAL and QGIS need to clip them. Features that
// miss the tile or vanish at this zoom are dropped, and so are layers left
// without features; a tile that shows nothing is zero bytes, which servers
// answer with 204 No Content. The input is not modified.
func EncodeMVT(z, x, y uint32, layers []MVTLayer) ([]byte, error) {
	ls, err := mvtLayers(z, x, y, layers)
	if err != nil {
		return nil, err
	}
	data, err := mvt.Marshal(ls)
	if err != nil {
		return nil, fmt.Errorf("geo: mvt: tile %d/%d/%d: %w", z, x, y, err)
	}
	return data, nil
}

// EncodeMVTGzip is EncodeMVT gzipped, for MBTiles and for servers that
// store tiles compressed (serve it with Content-Encoding: gzip).
func EncodeMVTGzip(z, x, y uint32, layers []MVTLayer) ([]byte, error) {
	ls, err := mvtLayers(z, x, y, layers)
	if err != nil {
		return nil, err
	}
	data, err := mvt.MarshalGzipped(ls)
	if err != nil {
		return nil, fmt.Errorf("geo: mvt: tile %d/%d/%d: %w", z, x, y, err)
	}
	return data, nil
}

func mvtLayers(z, x, y uint32, layers []MVTLayer) (mvt.Layers, error) {
	t, err := mvtTile(z, x, y)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(layers))
	var out mvt.Layers
	for _, l := range layers {
		if l.Name == "" || seen[l.Name] {
			return nil, fmt.Errorf("geo: mvt: layer name %q is empty or repeated", l.Name)
		}
		seen[l.Name] = true
		ml := &mvt.Layer{Name: l.Name, Version: 2, Extent: MVTExtent}
		if l.Shapes != nil {
			if l.Shapes.tile != t {
				return nil, fmt.Errorf("geo: mvt: layer %s: shapes of tile %d/%d/%d drawn in tile %d/%d/%d", l.Name, l.Shapes.tile.Z, l.Shapes.tile.X, l.Shapes.tile.Y, z, x, y)
			}
			for _, f := range l.Features {
				if g := l.Shapes.byKey[f.Key]; g != nil {
					ml.Features = append(ml.Features, withProperties(g, f.Properties))
				}
			}
		} else {
			kept, gs, err := shapes(t, l.Name, l.Features)
			if err != nil {
				return nil, err
			}
			for i, k := range kept {
				ml.Features = append(ml.Features, withProperties(gs[i], l.Features[k].Properties))
			}
		}
		if len(ml.Features) > 0 {
			out = append(out, ml)
		}
	}
	return out, nil
}

func mvtTile(z, x, y uint32) (maptile.Tile, error) {
	if z > tile.MaxZoom || x >= 1<<z || y >= 1<<z {
		return maptile.Tile{}, fmt.Errorf("%w: %d/%d/%d (zoom 0..%d, x and y below 2^zoom)", ErrTile, z, x, y, tile.MaxZoom)
	}
	return maptile.New(x, y, maptile.Zoom(z)), nil
}

// withProperties is a feature of geometry g in tile coordinates with the
// properties that are not nil.
func withProperties(g orb.Geometry, props map[string]any) *geojson.Feature {
	gf := geojson.NewFeature(g)
	for k, v := range props {
		if v != nil {
			gf.Properties[k] = v
		}
	}
	return gf
}

// shapes is the geometry pipeline of one layer in tile t: features are
// clipped to the tile plus its buffer, projected, simplified with shared
// borders kept shared, tidied and made valid. It returns the index in fs
// of each feature left and its geometry in tile coordinates.
func shapes(t maptile.Tile, name string, fs []MVTFeature) ([]int, []orb.Geometry, error) {
	clipBound := t.Bound(float64(mvtBuffer) / MVTExtent)
	dp := simplify.DouglasPeucker(mvtTolerance)
	var idx []int
	ml := &mvt.Layer{Name: name, Version: 2, Extent: MVTExtent}
	for i, f := range fs {
		g := f.Geometry
		switch gg := g.(type) {
		case orb.Collection:
			return nil, nil, fmt.Errorf("geo: mvt: layer %s feature %d: a GeometryCollection has no MVT form", name, i)
		case orb.Ring:
			g = orb.Polygon{gg}
		case orb.Bound:
			g = gg.ToPolygon()
		}
		if g == nil || !clipBound.Intersects(g.Bound()) {
			continue // before cloning: most features of a layer miss a tile
		}
		// Clipping in lon/lat first is exact (tile edges are meridians
		// and parallels) and leaves little to project.
		if g = clip.Geometry(clipBound, orb.Clone(g)); g == nil {
			continue
		}
		ml.Features = append(ml.Features, geojson.NewFeature(g))
		idx = append(idx, i)
	}
	ml.ProjectToTile(t)
	gs := make([]orb.Geometry, len(ml.Features))
	raw := make([]orb.Geometry, len(ml.Features))
	for i, f := range ml.Features {
		gs[i] = f.Geometry
		if _, ok := f.Geometry.(orb.Point); !ok {
			raw[i] = orb.Clone(f.Geometry)
		}
	}
	simplifyShared(gs, dp)
	kept, out := idx[:0], gs[:0]
	for i := range gs {
		if g := valid(tidy(gs[i]), raw[i]); g != nil {
			kept, out = append(kept, idx[i]), append(out, g)
		}
	}
	return kept, out, nil
}

// tidy drops what rounding to the extent's grid and simplifying collapsed
// (repeated points, rings without area, lines without length) and winds
// rings as MVT 2 requires: exterior positive area in tile coordinates
// (orb.CCW, as y points down), holes negative. nil when nothing is left.
func tidy(g orb.Geometry) orb.Geometry {
	switch g := g.(type) {
	case orb.Point, orb.MultiPoint:
		return g
	case orb.LineString:
		return tidy(orb.MultiLineString{g})
	case orb.MultiLineString:
		var out orb.MultiLineString
		for _, ls := range g {
			if ls = dedupe(ls); len(ls) >= 2 {
				out = append(out, ls)
			}
		}
		return single(out)
	case orb.Polygon:
		return tidy(orb.MultiPolygon{g})
	case orb.MultiPolygon:
		var out orb.MultiPolygon
		for _, p := range g {
			for i := range p {
				p[i] = orb.Ring(dedupe(orb.LineString(p[i])))
			}
			for _, p := range splitPolygon(p) {
				var rings orb.Polygon
				for i, r := range p {
					if len(r) < 4 || ringArea(r) == 0 || (i > 0 && ringArea(r) < minHoleArea) {
						if i == 0 {
							break // no exterior, no polygon
						}
						continue
					}
					if (i == 0) != (r.Orientation() == orb.CCW) {
						r.Reverse()
					}
					rings = append(rings, r)
				}
				if len(rings) > 0 {
					out = append(out, rings)
				}
			}
		}
		return single(out)
	}
	return nil
}

// single unwraps a one-member multi-geometry, so that a feature clipped to
// one part encodes as the simple type; nil for none.
func single[T any, M ~[]T](m M) orb.Geometry {
	switch len(m) {
	case 0:
		return nil
	case 1:
		return any(m[0]).(orb.Geometry)
	}
	return any(m).(orb.Geometry)
}

// dedupe removes consecutive repeated points, in place.
func dedupe(ls orb.LineString) orb.LineString {
	out := ls[:0]
	for i, p := range ls {
		if i == 0 || p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return out
}

// ringArea is the ring's area in square extent units, its sign ignored.
func ringArea(r orb.Ring) float64 { return math.Abs(ringSigned(r)) }

// valid returns polygon g, simplified and cleaned by tidy, when GEOS would
// find it valid: GEOS, and so GDAL and QGIS, refuse to clip or measure an
// invalid polygon. Otherwise it tries, in turn, g dissolved by the overlay
// (which merges parts that touch along a border) and rounded back to the
// grid, then the same for raw, the polygon only rounded to the grid, which
// keeps no shared border but has less to go wrong. When nothing is valid,
// g is served, as tiles were before.
func valid(g, raw orb.Geometry) orb.Geometry {
	switch g.(type) {
	case orb.Polygon, orb.MultiPolygon:
	default:
		return g
	}
	if region.Validate(g) == nil {
		return g
	}
	if fixed := dissolve(g); fixed != nil {
		return fixed
	}
	if raw = tidy(raw); raw != nil {
		if region.Validate(raw) == nil {
			return raw
		}
		if fixed := dissolve(raw); fixed != nil {
			return fixed
		}
	}
	return g
}

// dissolve is g's union with itself, back on the grid, or nil when that
// is not valid either.
func dissolve(g orb.Geometry) orb.Geometry {
	fixed, err := region.Dissolve(g)
	if err != nil {
		return nil
	}
	if fixed = tidy(roundGeometry(fixed)); fixed == nil || region.Validate(fixed) != nil {
		return nil
	}
	return fixed
}

// roundGeometry puts every point of a polygon back on the tile's grid.
func roundGeometry(g orb.Geometry) orb.Geometry {
	for _, p := range region.Polygons(g) {
		for _, r := range p {
			for i := range r {
				r[i] = orb.Point{math.Round(r[i][0]), math.Round(r[i][1])}
			}
		}
	}
	return g
}
