package draw

import (
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// MVTShapes is one layer's geometry in one tile, clipped, projected,
// simplified with shared borders and made valid once, by feature key.
// Making a layer valid is most of a tile's cost while the geometry of
// regions never changes, so a server keeps the shapes and attaches each
// request's properties (MVTLayer.Shapes). Shapes are read-only once made
// and safe to share between goroutines.
type MVTShapes struct {
	tile  maptile.Tile
	byKey map[string]orb.Geometry
	bytes int
}

// PrepareMVTShapes runs EncodeMVT's geometry steps for tile z/x/y on
// features, which are keyed by their Key (unique, not empty), and keeps
// the result. Features that miss the tile or vanish at its zoom have no
// shape.
func PrepareMVTShapes(z, x, y uint32, features []MVTFeature) (*MVTShapes, error) {
	t, err := mvtTile(z, x, y)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(features))
	for i, f := range features {
		if f.Key == "" || seen[f.Key] {
			return nil, fmt.Errorf("geo: mvt: feature %d: key %q is empty or repeated; shapes need one key a feature", i, f.Key)
		}
		seen[f.Key] = true
	}
	kept, gs, err := shapes(t, "shapes", features)
	if err != nil {
		return nil, err
	}
	s := &MVTShapes{tile: t, byKey: make(map[string]orb.Geometry, len(kept))}
	for i, k := range kept {
		key := features[k].Key
		g := orb.Clone(gs[i]) // to its length: clipping left room for the unsimplified points
		s.byKey[key] = g
		s.bytes += len(key) + geometryBytes(g) + 64 // map entry and interface
	}
	return s, nil
}

// Len is the number of features with a shape in the tile.
func (s *MVTShapes) Len() int { return len(s.byKey) }

// Bytes estimates the memory the shapes hold: 16 bytes a point, 24 a
// slice header, the keys and the map's entries. A cache weighs them by it.
func (s *MVTShapes) Bytes() int { return s.bytes + 48 }

// geometryBytes is the size of g's points and slice headers.
func geometryBytes(g orb.Geometry) int {
	switch g := g.(type) {
	case orb.Point:
		return 16
	case orb.MultiPoint:
		return 24 + 16*cap(g)
	case orb.LineString:
		return 24 + 16*cap(g)
	case orb.Ring:
		return 24 + 16*cap(g)
	case orb.MultiLineString:
		n := 24 + 24*cap(g)
		for _, l := range g {
			n += 16 * cap(l)
		}
		return n
	case orb.Polygon:
		n := 24 + 24*cap(g)
		for _, r := range g {
			n += 16 * cap(r)
		}
		return n
	case orb.MultiPolygon:
		n := 24 + 24*cap(g)
		for _, p := range g {
			n += geometryBytes(p)
		}
		return n
	}
	return 0
}
