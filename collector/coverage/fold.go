package coverage

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/tile"
)

// A fold is a window's rows merged once per cell, outage buckets set
// apart: the region view at every level, the tiles at every zoom and the
// services view group its few thousand cells instead of every row.
// Outages are judged per bucket, from the rows of that bucket alone, so
// folding each part of a window on its own and merging the parts gives
// the same cells as folding the window at once: which is what lets the
// engine keep the parts that did not change (foldcache.go) and add new
// parts to the groups of old ones (layer.go).

// cellFold is a part's rows merged per cell.
type cellFold map[rollup.Cell]*rollup.Agg

// add merges a row into its cell: the first row of a cell is cloned (a
// lazily decoded one's encoding copied, not decoded), the next merged in.
func (m cellFold) add(r *Row) error {
	if a := m[r.Cell]; a != nil {
		return a.Merge(r.Agg)
	}
	m[r.Cell] = r.Agg.Clone()
	return nil
}

// segFold is one segment's rows merged per cell: kept holds those the
// region and tile views count, out the e-service rows of the buckets in
// which the service was down at its end (only the services view counts
// them), outages those buckets. Once built it is only read: a kept
// segment is shared by every window and layer that contains it.
type segFold struct {
	kept, out cellFold
	outages   outageSet

	// id names the fold. A fold of a one-bucket span made again after a
	// write into it from a previous fold (from, that fold's id; see
	// foldSpan) lists in diff the cells that differ from it, kept or
	// set apart: added, gone or changed.
	id, from uint64
	diff     []rollup.Cell

	cellsOnce sync.Once
	cells     []foldCell // kept's, then out's
	nKept     int
}

func (s *segFold) size() int { return len(s.kept) + len(s.out) }

// foldCells lists the segment's cells: kept's first, then out's.
func (s *segFold) foldCells(e *Engine) []foldCell {
	s.cellsOnce.Do(func() {
		s.cells = make([]foldCell, 0, s.size())
		for c, g := range s.kept {
			s.cells = append(s.cells, e.foldCell(c, g))
		}
		s.nKept = len(s.cells)
		for c, g := range s.out {
			s.cells = append(s.cells, e.foldCell(c, g))
		}
	})
	return s.cells
}

// positions lists, per key of g in keys, the positions in foldCells of
// the cells that g counts: one pass over the cells, for the few keys a
// write changed (a segment is regrouped once for each of its writes).
func (s *segFold) positions(e *Engine, g grouping, keys map[string]bool) map[string][]int32 {
	cells := s.foldCells(e)
	n := s.nKept
	if g.countsOut() {
		n = len(cells)
	}
	m := map[string][]int32{}
	for i := range cells[:n] {
		if k, ok := g.key(&cells[i].Cell); ok && keys[k] {
			m[k] = append(m[k], int32(i))
		}
	}
	return m
}

// foldSpan reads one span of a window and merges its rows per cell,
// setting apart the buckets in which an e-service was down at its end.
// Only e-service rows wait for that judgement; uplink rows, never set
// apart, are merged as they come. With prev, the span's last fold, and
// a span of one bucket (a cell has one row), a row equal to prev's
// aggregate of its cell takes that aggregate (read only, as every fold's
// are) instead of a copy, and the fold lists the cells that changed
// (diff), so that the layer above regroups those alone.
func (e *Engine) foldSpan(ctx context.Context, src Feed, sp rollup.Span, q Query, prev *segFold) (*segFold, error) {
	s := &segFold{kept: cellFold{}, out: cellFold{}, id: segIDs.Add(1)}
	if prev != nil && sp.To.Sub(sp.From) == sp.Res {
		s.from = prev.id
		s.kept, s.out = make(cellFold, len(prev.kept)), make(cellFold, len(prev.out))
	} else {
		prev = nil
	}
	d := differ{s: s, prev: prev}
	var services rowSet
	err := readSpan(ctx, src, sp, q, func(r Row) error {
		if r.Cell.Service == rollup.Uplink || r.Cell.Service == "" {
			return d.add(false, &r)
		}
		services.add(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.outages = e.outages(services)
	for r := range services.all() {
		if err := d.add(s.outages.excludes(r), r); err != nil {
			return nil, err
		}
	}
	d.gone()
	return s, nil
}

var segIDs atomic.Uint64

// differ adds rows to a fold, comparing them with a previous one (prev,
// or nil).
type differ struct {
	s, prev *segFold
	seen    int // cells of prev found again
}

func (d *differ) add(out bool, r *Row) error {
	m := d.s.kept
	if out {
		m = d.s.out
	}
	if d.prev == nil {
		return m.add(r)
	}
	before, other := d.prev.kept, d.prev.out
	if out {
		before, other = other, before
	}
	if a := m[r.Cell]; a != nil {
		if a == before[r.Cell] { // a second row of the cell: never shared
			a = a.Clone()
			m[r.Cell] = a
			d.s.diff = append(d.s.diff, r.Cell)
		}
		return a.Merge(r.Agg)
	}
	b, ok := before[r.Cell]
	switch {
	case ok && b.Equal(r.Agg):
		m[r.Cell] = b
		d.seen++
		return nil
	case ok:
		d.seen++
	default:
		if _, moved := other[r.Cell]; moved {
			d.seen++
		}
	}
	d.s.diff = append(d.s.diff, r.Cell)
	m[r.Cell] = r.Agg.Clone()
	return nil
}

// gone adds to diff prev's cells that the fold has not.
func (d *differ) gone() {
	if d.prev == nil || d.seen == d.prev.size() {
		return
	}
	for _, before := range []cellFold{d.prev.kept, d.prev.out} {
		for c := range before {
			if _, ok := d.s.kept[c]; ok {
				continue
			}
			if _, ok := d.s.out[c]; !ok {
				d.s.diff = append(d.s.diff, c)
			}
		}
	}
}

// foldSpans reads and folds spans at once (a store decodes rows on as
// many cores as there are spans).
func (e *Engine) foldSpans(ctx context.Context, src Feed, spans []rollup.Span, q Query) ([]*segFold, error) {
	parts := make([]*segFold, len(spans))
	errs := make([]error, len(spans))
	var wg sync.WaitGroup
	for i, sp := range spans {
		wg.Go(func() { parts[i], errs[i] = e.foldSpan(ctx, src, sp, q, nil) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// join merges the parts' cells into one list. With shared parts (kept
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
