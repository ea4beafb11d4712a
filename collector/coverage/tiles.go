package coverage

import (
	"context"
	"fmt"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/geo/tile"
)

// TileCell is one map tile's coverage over a window, with the columns of
// Ookla's open data where they mean the same (quadkey, tests → samples,
// devices → probes).
type TileCell struct {
	Tile    maptile.Tile
	Quadkey string
	Status  Status
	figures
	Probes int
}

// Tiles computes the tiles at zoom z (at most the engine's zoom: coarser
// tiles are their quadkey's prefix) that had results in the window and
// meet bound (an empty bound: all).
func (e *Engine) Tiles(ctx context.Context, src Feed, z int, bound orb.Bound, q Query) ([]TileCell, error) {
	if z < 1 || z > e.zoom {
		return nil, fmt.Errorf("z %d: tiles are kept down to zoom %d (1..%d)", z, e.zoom, e.zoom)
	}
	f, err := e.fold(ctx, src, q)
	if err != nil {
		return nil, err
	}
	cells, err := f.group(e, grouping{by: groupTile, level: z})
	if err != nil {
		return nil, err
	}
	all := bound == orb.Bound{}
	result := make([]TileCell, 0, len(cells))
	for qk, a := range cells {
		t, err := tile.ParseQuadkey(qk)
		if err != nil || (!all && !t.Bound().Intersects(bound)) {
			continue
		}
		f := a.figures()
		// A tile has no probes placed in it, so it is never silent: it is
		// judged by the results measured in it.
		st := e.th.Classify(f.stats(len(a.probes), q.Now, false), q.Now)
		result = append(result, TileCell{Tile: t, Quadkey: qk, Status: st, figures: f, Probes: len(a.probes)})
	}
	sort.Slice(result, func(i, j int) bool { return result[i].Quadkey < result[j].Quadkey })
	return result, nil
}
