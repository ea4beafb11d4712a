package httpapi

import (
	"context"
	"math"

	"github.com/maypok86/otter/v2"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/geo/draw"
	"github.com/jangkau/jangkau/geo/region"
)

// DefaultShapeCacheBytes is the default budget of a RegionShapes cache:
// every tile of a province from zoom 6 to 12 fits several times over
// (docs/benchmarks.md), and a country's busiest tiles do.
const DefaultShapeCacheBytes = 64 << 20

// RegionShapes keeps the regions layer's shapes (draw.MVTShapes) of each
// tile and level, made from every region of the level, so that the map
// page and every partner's scope draw the same borders and a tile's
// geometry is made valid once, not on each request. Region geometry does
// not change while the collector runs; only properties are drawn anew.
// Memory is bounded by a byte budget; the least valuable tiles (by
// recency and frequency, W-TinyLFU) go first.
type RegionShapes struct {
	regions *region.Regions
	cache   *otter.Cache[shapeKey, *draw.MVTShapes]
}

type shapeKey struct {
	tile  maptile.Tile
	level int
}

// NewRegionShapes caches the shapes of regions' tiles in about budget
// bytes (draw.MVTShapes.Bytes); budget 0 keeps nothing, making shapes on
// each request.
func NewRegionShapes(regions *region.Regions, budget int64) *RegionShapes {
	c := &RegionShapes{regions: regions}
	if budget > 0 {
		c.cache = otter.Must(&otter.Options[shapeKey, *draw.MVTShapes]{
			MaximumWeight: uint64(budget),
			Weigher: func(_ shapeKey, s *draw.MVTShapes) uint32 {
				return uint32(min(s.Bytes(), math.MaxUint32))
			},
		})
	}
	return c
}

// Shapes returns the shapes of level's regions in tile t, from the cache
// or made now. Concurrent requests for one tile wait for one making.
func (c *RegionShapes) Shapes(ctx context.Context, t maptile.Tile, level int) (*draw.MVTShapes, error) {
	if c.cache == nil {
		return c.make(t, level)
	}
	return c.cache.Get(ctx, shapeKey{t, level}, otter.LoaderFunc[shapeKey, *draw.MVTShapes](
		func(_ context.Context, k shapeKey) (*draw.MVTShapes, error) { return c.make(k.tile, k.level) }))
}

func (c *RegionShapes) make(t maptile.Tile, level int) (*draw.MVTShapes, error) {
	// Every region of the level: the ones that miss the tile and its
	// buffer are skipped by their bound.
	rs := c.regions.Level(level)
	fs := make([]draw.MVTFeature, len(rs))
	for i, r := range rs {
		fs[i] = draw.MVTFeature{Key: r.Code, Geometry: r.Geometry}
	}
	return draw.PrepareMVTShapes(uint32(t.Z), t.X, t.Y, fs)
}

// Bytes is the weight the cache holds now (approximate while requests
// run).
func (c *RegionShapes) Bytes() uint64 {
	if c.cache == nil {
		return 0
	}
	c.cache.CleanUp() // weights are counted by the cache's maintenance
	return c.cache.WeightedSize()
}

// Tiles is the number of tile shapes the cache holds.
func (c *RegionShapes) Tiles() int {
	if c.cache == nil {
		return 0
	}
	c.cache.CleanUp()
	return c.cache.EstimatedSize()
}
