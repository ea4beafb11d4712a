package coverage

import (
	"cmp"
	"context"
	"iter"
	"slices"
	"sync"

	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// A fold is a window's rows merged once per cell, outage buckets left
// out: the region view at every level and the tiles at every zoom derive
// from its few thousand cells instead of every row. Outages are judged
// per bucket, from the rows of that bucket alone, so folding each part of
// a window on its own and merging the parts gives the same cells as
// folding the window at once: which is what lets the engine keep the
// parts that did not change (foldcache.go).

// cellFold is a part's rows merged per cell. Once built it is only read:
// a kept part is shared by every window that contains it.
type cellFold map[rollup.Cell]*rollup.Agg

// foldSpan reads one span of a window and merges its rows per cell,
// leaving out the buckets in which an e-service was down at its end. Only
// e-service rows wait for that judgement; uplink rows, never left out,
// are merged as they come.
func (e *Engine) foldSpan(ctx context.Context, src Feed, sp rollup.Span, q Query) (cellFold, error) {
	m := cellFold{}
	merge := func(r *Row) error {
		a := m[r.Cell]
		if a == nil {
			a = rollup.NewAgg()
			m[r.Cell] = a
		}
		return a.Merge(r.Agg)
	}
	var services rowSet
	err := readSpan(ctx, src, sp, q, func(r Row) error {
		if r.Cell.Service == rollup.Uplink || r.Cell.Service == "" {
			return merge(&r)
		}
		services.add(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := e.outages(services)
	for r := range services.all() {
		if out.excludes(r) {
			continue
		}
		if err := merge(r); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// foldSpans reads and folds spans at once (a store decodes rows on as
// many cores as there are spans).
func (e *Engine) foldSpans(ctx context.Context, src Feed, spans []rollup.Span, q Query) ([]cellFold, error) {
	parts := make([]cellFold, len(spans))
	errs := make([]error, len(spans))
	var wg sync.WaitGroup
	for i, sp := range spans {
		wg.Go(func() { parts[i], errs[i] = e.foldSpan(ctx, src, sp, q) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// join merges the parts' cells into one fold. With shared parts (kept
// ones), a cell found in more than one part gets an aggregate of its own
// and one found in a single part is shared, as the parts are never
// changed; otherwise the first part's are merged into in place. Give the
// longest span's part first: its sketches span the widest range, so
// merging the others into them rarely has to grow them.
func (e *Engine) join(parts []cellFold, shared bool) ([]foldCell, error) {
	type joined struct {
		agg   *rollup.Agg
		owned bool
	}
	var all map[rollup.Cell]*joined
	if len(parts) > 0 {
		all = make(map[rollup.Cell]*joined, len(parts[0]))
	}
	for _, p := range parts {
		for c, g := range p {
			j := all[c]
			switch {
			case j == nil:
				all[c] = &joined{agg: g, owned: !shared}
				continue
			case !j.owned:
				j.agg, j.owned = j.agg.Clone(), true
			}
			if err := j.agg.Merge(g); err != nil {
				return nil, err
			}
		}
	}
	cells := make([]foldCell, 0, len(all))
	for c, j := range all {
		cells = append(cells, e.foldCell(c, j.agg))
	}
	return cells, nil
}

// cells lists a part's cells, sharing its aggregates.
func (e *Engine) cells(m cellFold) []foldCell {
	cells := make([]foldCell, 0, len(m))
	for c, g := range m {
		cells = append(cells, e.foldCell(c, g))
	}
	return cells
}

func (e *Engine) foldCell(c rollup.Cell, g *rollup.Agg) foldCell {
	fc := foldCell{Cell: c, Agg: g}
	if c.Tile != "" {
		if t, err := tile.ParseQuadkey(c.Tile); err == nil && int(t.Z) == e.zoom {
			fc.tile, fc.tileOK = t, true
		}
	}
	return fc
}

// longestFirst orders spans for join.
func longestFirst(spans []rollup.Span) []rollup.Span {
	slices.SortStableFunc(spans, func(a, b rollup.Span) int {
		return cmp.Compare(b.To.Sub(b.From), a.To.Sub(a.From))
	})
	return spans
}

// foldCell is one cell of a fold.
type foldCell struct {
	Cell rollup.Cell
	Agg  *rollup.Agg // read only
	// tile is Cell.Tile parsed, when it is a tile at the engine's zoom.
	tile   maptile.Tile
	tileOK bool
}

// folded is a window's fold with the groupings derived from it so far. A
// kept fold is shared by concurrent queries: each grouping is built once,
// under mu, and only read after.
type folded struct {
	// The window's cells are those of cells and of top: top holds the
	// newest block's, not joined into cells (a cell may be in both).
	cells, top []foldCell

	mu      sync.Mutex
	regions map[int]map[string]*acc // by level, then region code
	tiles   map[int]map[string]*acc // by zoom, then quadkey
}

// all yields the cells of cells and of top.
func (f *folded) all() iter.Seq[*foldCell] {
	return func(yield func(*foldCell) bool) {
		for _, cs := range [2][]foldCell{f.cells, f.top} {
			for i := range cs {
				if !yield(&cs[i]) {
					return
				}
			}
		}
	}
}

// addFolded adds a folded cell: acc.add with the tile already parsed.
func (a *acc) addFolded(fc *foldCell) error {
	g := fc.Agg
	a.count += g.Count
	a.ok += g.OK
	a.lossSum += g.LossSum
	a.lossN += g.LossN
	a.lastResultNanos = max(a.lastResultNanos, g.Last)
	a.probes[fc.Cell.Probe] = true
	if fc.tileOK {
		a.tiles[fc.tile] = true
	}
	k := a.kinds[fc.Cell.Kind]
	if k == nil {
		k = rollup.NewAgg()
		a.kinds[fc.Cell.Kind] = k
	}
	return k.Merge(g)
}

// byRegion groups the cells by their region's ancestor at level: the
// deepest level by region, coarser ones by merging the deepest groups,
// as results count where they were measured.
func (f *folded) byRegion(level, deepest int) (map[string]*acc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byRegionLocked(level, deepest)
}

func (f *folded) byRegionLocked(level, deepest int) (map[string]*acc, error) {
	if m := f.regions[level]; m != nil {
		return m, nil
	}
	m := map[string]*acc{}
	if level == deepest {
		for fc := range f.all() {
			a := m[fc.Cell.Region]
			if a == nil {
				a = newAcc()
				m[fc.Cell.Region] = a
			}
			if err := a.addFolded(fc); err != nil {
				return nil, err
			}
		}
	} else {
		deep, err := f.byRegionLocked(deepest, deepest)
		if err != nil {
			return nil, err
		}
		for code, a := range deep {
			anc := region.Ancestor(code, level)
			if anc == "" {
				continue
			}
			c := m[anc]
			if c == nil {
				c = newAcc()
				m[anc] = c
			}
			if err := c.merge(a); err != nil {
				return nil, err
			}
		}
	}
	if f.regions == nil {
		f.regions = map[int]map[string]*acc{}
	}
	f.regions[level] = m
	return m, nil
}

// byTile groups the cells by their tile's quadkey prefix of zoom z.
func (f *folded) byTile(z int) (map[string]*acc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.tiles[z]; m != nil {
		return m, nil
	}
	m := map[string]*acc{}
	for fc := range f.all() {
		if len(fc.Cell.Tile) < z {
			continue
		}
		qk := fc.Cell.Tile[:z]
		a := m[qk]
		if a == nil {
			a = newAcc()
			m[qk] = a
		}
		if err := a.addFolded(fc); err != nil {
			return nil, err
		}
	}
	if f.tiles == nil {
		f.tiles = map[int]map[string]*acc{}
	}
	f.tiles[z] = m
	return m, nil
}
