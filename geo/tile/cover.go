package tile

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"github.com/jangkau/jangkau/geo/region"
)

// Cover is which tiles of one zoom the regions of one level reach, both
// ways: a region's tiles, and a tile's regions. It is how a region knows how
// much of its area is measured. A Cover is read-only, so one value serves
// every goroutine.
//
// A tile belongs to every region whose boundary or interior reaches into it
// (orb's tilecover, exact for the polygon's edges), so a tile on a border
// belongs to each region on either side, and the regions' tile counts add up
// to more than the distinct tiles.
type Cover struct {
	level    int
	zoom     int
	byRegion map[string][]maptile.Tile // sorted by quadkey

	// byTile, the reverse, is made on first use: the collector asks only
	// byRegion, and at country scale the map would cost more than the
	// tiles themselves (1.3 million entries for Indonesia's land at zoom 15).
	tileOnce sync.Once
	byTile   map[maptile.Tile][]string // codes, sorted
	codes    []string                  // byRegion's keys, sorted
}

// Level is the level of the regions the cover was computed for.
func (c *Cover) Level() int { return c.level }

// Zoom is the zoom of every tile in the cover.
func (c *Cover) Zoom() int { return c.zoom }

// Tiles are the region's tiles in quadkey order (nil for a code not of this
// level). The slice is shared by every caller: read it, never modify it.
func (c *Cover) Tiles(code string) []maptile.Tile { return c.byRegion[code] }

// Regions are the codes of the regions that reach into the tile, sorted;
// nil for a tile of another zoom or outside every region. The slice is
// shared: read it, never modify it.
func (c *Cover) Regions(t maptile.Tile) []string { return c.tiles()[t] }

// NumTiles is the number of distinct tiles, each border tile counted once.
func (c *Cover) NumTiles() int { return len(c.tiles()) }

// tiles makes the tile → regions map once.
func (c *Cover) tiles() map[maptile.Tile][]string {
	c.tileOnce.Do(func() {
		n := 0
		for _, ts := range c.byRegion {
			n += len(ts)
		}
		c.byTile = make(map[maptile.Tile][]string, n)
		for _, code := range c.codes { // sorted, so the lists are too
			for _, t := range c.byRegion[code] {
				c.byTile[t] = append(c.byTile[t], code)
			}
		}
	})
	return c.byTile
}

// Measured counts the region's tiles that are in measured, the set of tiles
// with at least one result in the window; measured/total is the region's
// measured share. It counts tiles, not area: a border tile measured from
// one side counts for every region it touches, because a kilometre-wide
// cell's users live on both sides of the line. That leans optimistic where
// regions are small beside the tiles. Of Banten's zoom-15 tiles, 6% lie on
// a kabupaten border, 36% on a kecamatan border (TestCoverBanten) and 77% on
// a desa border; at zoom 16, 20% and 54% for kecamatan and desa. A desa
// share wants zoom 16 or finer.
func (c *Cover) Measured(code string, measured maptile.Set) (n, total int) {
	tiles := c.byRegion[code]
	for _, t := range tiles {
		if measured[t] {
			n++
		}
	}
	return n, len(tiles)
}

// maxCoverTiles bounds the tiles of the regions' bounding boxes at the
// asked zoom, summed over the level's regions (what their covers hold at
// most), because zoom and level may come from an API query and a cover of
// a province at zoom 23 would take hundreds of millions of tiles. Banten
// (about 1.7° by 1.2°) is within it up to zoom 19; Indonesia's land (1.9
// million km², a fifth of the box its islands lie in) at zoom 15, the
// default, is about 1.3 million tiles, 16 MB in a cover. A bound on the
// level's box instead refused any country whose islands lie far apart.
const maxCoverTiles = 1 << 23

// Index computes each (level, zoom) cover once, on first use, and keeps
// it: callers ask for a cover on every query, and a cover of 155 kecamatan
// at zoom 16 takes tens of milliseconds. It is safe for concurrent use;
// concurrent first calls for one key wait for one computation.
type Index struct {
	rs     *region.Regions
	mu     sync.Mutex
	covers map[coverKey]*lazyCover
}

type coverKey struct{ level, zoom int }

type lazyCover struct {
	once  sync.Once
	cover *Cover
	err   error
	done  atomic.Bool // set once cover and err are
}

// NewIndex keeps its covers beside rs rather than in it, so that
// region.Regions stays a plain read-only value and a collector that serves
// no tiles pays nothing.
func NewIndex(rs *region.Regions) *Index {
	return &Index{rs: rs, covers: make(map[coverKey]*lazyCover)}
}

// Cover returns the cover of the regions of level at zoom z, computing it on
// the first call for that pair. Bad arguments are errors rather than panics
// because they may come from a query string; they are not cached, so they
// cannot grow the index.
func (ti *Index) Cover(level, z int) (*Cover, error) {
	regions := ti.rs.Level(level)
	if len(regions) == 0 {
		return nil, fmt.Errorf("geo: tile cover: no regions at level %d (levels %v)", level, ti.rs.Levels())
	}
	if z < 0 || z > MaxZoom {
		return nil, fmt.Errorf("geo: tile cover: zoom %d outside 0..%d", z, MaxZoom)
	}
	var n uint64
	for _, r := range regions {
		lo, hi := At(r.Bound.Min[1], r.Bound.Min[0], z), At(r.Bound.Max[1], r.Bound.Max[0], z)
		n += (uint64(hi.X-lo.X) + 1) * (uint64(lo.Y-hi.Y) + 1)
	}
	if n > maxCoverTiles {
		return nil, fmt.Errorf("geo: tile cover of level %d at zoom %d: %d tiles in its regions' bounds, at most %d", level, z, n, maxCoverTiles)
	}

	key := coverKey{level, z}
	ti.mu.Lock()
	lc := ti.covers[key]
	if lc == nil {
		lc = new(lazyCover)
		ti.covers[key] = lc
	}
	ti.mu.Unlock()
	lc.once.Do(func() {
		lc.cover, lc.err = computeCover(regions, level, z)
		lc.done.Store(true)
	})
	return lc.cover, lc.err
}

// Ready says whether the cover of level at zoom z has been computed (with
// or without an error), so that a caller can tell a cover prepared ahead
// from one a request would compute.
func (ti *Index) Ready(level, z int) bool {
	ti.mu.Lock()
	lc := ti.covers[coverKey{level, z}]
	ti.mu.Unlock()
	return lc != nil && lc.done.Load()
}

// computeCover runs tilecover per region, on every CPU, and keeps each
// region's tiles as a sorted slice. Synthetic regions are the polygons of
// their children side by side, so their cover is the union of their
// children's.
func computeCover(regions []*region.Region, level, z int) (*Cover, error) {
	tiles := make([][]maptile.Tile, len(regions))
	errs := make([]error, len(regions))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(regions)) {
		wg.Go(func() {
			var keys []uint64
			for i := int(next.Add(1) - 1); i < len(regions); i = int(next.Add(1) - 1) {
				r := regions[i]
				set, err := tilecover.Geometry(r.Geometry, maptile.Zoom(z))
				if err != nil {
					errs[i] = fmt.Errorf("geo: tile cover of %s at zoom %d: %w", r.Code, z, err)
					continue
				}
				// Sorting the interleaved keys sorts the tiles in quadkey order.
				keys = keys[:0]
				for t := range set {
					keys = append(keys, t.Quadkey())
				}
				slices.Sort(keys)
				ts := make([]maptile.Tile, len(keys))
				for j, k := range keys {
					ts[j] = maptile.FromQuadkey(k, maptile.Zoom(z))
				}
				tiles[i] = ts
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := &Cover{level: level, zoom: z, byRegion: make(map[string][]maptile.Tile, len(regions))}
	for i, r := range regions { // sorted by code
		c.byRegion[r.Code] = tiles[i]
		c.codes = append(c.codes, r.Code)
	}
	return c, nil
}
