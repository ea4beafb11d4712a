package coverage

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// The region views need, at every level, the group of each deepest
// region: the people affected and the measured share count the deepest
// regions' statuses. Folded from cells, that is a merge per (probe, check)
// cell and bucket: 200,000 cells an hour at country scale. A store that
// keeps region rows (RegionRows: every cell of a region and bucket
// merged) lets the engine merge a row per region and bucket instead, and
// build the coarser levels from the deepest groups, as a layer does.
//
// Only unfiltered windows are read this way (a carrier or service filter
// needs the cells), and only from Since on. Outages are judged per bucket
// from the rows' per-service tallies, by the same rule as for cells; a
// bucket with an outage is folded from its cells, so that the service's
// results in it are left out exactly as the cell fold leaves them out.
//
// The window is cut as the cell fold cuts it (segments, tiers): each
// segment's fold is kept under its stamp, the segments before the newest
// block are joined once into a root, the block's minutes but the last are
// added to the root's groups and the last minute to those, each tier
// cloning only the groups it touches, so that a write into the running
// minute refolds one minute and clones the groups of its regions.

// regionGroups returns the groups of the deepest regions and those of
// level: from region rows when the feed has them for q, else from the
// cell fold.
func (e *Engine) regionGroups(ctx context.Context, src Feed, q Query, level int) (deepest, cells map[string]*acc, err error) {
	if gs, ok := src.(*GenerationSource); ok && gs.regions != nil && q.Carrier == "" && q.Service == "" {
		segs, newest := segments(q.From, q.To)
		if len(segs) > 0 && !segs[0].From.Before(gs.regions.Since) {
			w, err := e.regionWindow(ctx, gs, segs, newest)
			if err != nil {
				return nil, nil, err
			}
			cells, err := w.level(e, level)
			return w.deepest, cells, err
		}
	}
	f, err := e.fold(ctx, src, q)
	if err != nil {
		return nil, nil, err
	}
	if deepest, err = f.group(e, grouping{by: groupRegion}); err != nil {
		return nil, nil, err
	}
	cells = deepest
	if level != e.regions.Deepest() {
		if cells, err = f.group(e, grouping{by: groupAncestor, level: level}); err != nil {
			return nil, nil, err
		}
	}
	return deepest, cells, nil
}

// regionCache keeps the engine's region folds: segments, and windows
// (roots and tops), each under the stamps of its rows. Sizes count
// groups (a group is a few KiB once its sketches are merged into).
type regionCache struct {
	segments lru[regionSegKey, map[string]*acc]
	windows  lru[regionWinKey, *regionWin]
}

const (
	maxRegionSegments     = 64
	maxRegionSegmentSize  = 400_000
	maxRegionWindows      = 12
	maxRegionWindowGroups = 400_000
)

func newRegionCache() *regionCache {
	c := &regionCache{}
	c.segments = lru[regionSegKey, map[string]*acc]{maxEntries: maxRegionSegments, maxSize: maxRegionSegmentSize,
		replaces: func(k, old regionSegKey) bool { return k.src == old.src && k.span == old.span }}
	c.windows = lru[regionWinKey, *regionWin]{maxEntries: maxRegionWindows, maxSize: maxRegionWindowGroups,
		replaces: func(k, old regionWinKey) bool {
			return k.src == old.src && k.from == old.from && k.to == old.to && k.depth == old.depth
		}}
	return c
}

type regionSegKey struct {
	src  *GenerationSource
	span rollup.Span
	gen  uint64
}

type regionWinKey struct {
	src      *GenerationSource
	from, to int64
	depth    int
	gens     string
	parent   *regionWin
}

// regionWin is a window's groups: those of the deepest regions, and those
// of coarser levels built from them on first need.
type regionWin struct {
	deepest map[string]*acc

	// A tier's parent and the groups its segments add (by deepest
	// region), to build its levels from the parent's.
	parent *regionWin
	added  map[string]*acc

	mu     sync.Mutex
	levels map[int]map[string]*acc
}

// level returns the groups of level, building them once.
func (w *regionWin) level(e *Engine, level int) (map[string]*acc, error) {
	if level == e.regions.Deepest() {
		return w.deepest, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if m, ok := w.levels[level]; ok {
		return m, nil
	}
	var (
		m, base map[string]*acc
		err     error
	)
	deep := w.deepest
	if w.parent != nil {
		if base, err = w.parent.level(e, level); err != nil {
			return nil, err
		}
		deep = w.added
	}
	if m, err = groupAncestors(deep, level, base); err != nil {
		return nil, err
	}
	if w.levels == nil {
		w.levels = map[int]map[string]*acc{}
	}
	w.levels[level] = m
	return m, nil
}

// groupAncestors merges groups of deepest regions into those of their
// ancestors at level, on top of base's (shared, cloned where added to).
func groupAncestors(deep map[string]*acc, level int, base map[string]*acc) (map[string]*acc, error) {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]*acc{}
	}
	owned := map[string]bool{}
	for code, a := range deep {
		anc := region.Ancestor(code, level)
		if anc == "" {
			continue
		}
		if !owned[anc] {
			if b := m[anc]; b != nil {
				m[anc] = b.clone()
			} else {
				m[anc] = newAcc()
			}
			owned[anc] = true
		}
		if err := m[anc].merge(a); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// regionWindow returns the top of a window: the root of its older
// segments, the newest block's minutes but the last added to it, and the
// last minute added on top (tiers, as the cell fold's layers).
func (e *Engine) regionWindow(ctx context.Context, gs *GenerationSource, segs []rollup.Span, newest int) (*regionWin, error) {
	gens := make([]uint64, len(segs))
	for i, sp := range segs {
		gens[i] = gs.Generation(sp.Res, sp.From, sp.To) // stamps before rows
	}
	from, to := segs[0].From.UnixNano(), segs[len(segs)-1].To.UnixNano()
	var top *regionWin
	for depth, t := range tiers(len(segs), newest) {
		k := regionWinKey{src: gs, from: from, to: to, depth: depth, gens: signature(gens[t[0]:t[1]]), parent: top}
		parent := top
		w, err := e.regionFolds.windows.get(ctx, k, func() (*regionWin, int, error) {
			parts, err := e.regionSegments(ctx, gs, segs[t[0]:t[1]], gens[t[0]:t[1]])
			if err != nil {
				return nil, 0, err
			}
			added, err := joinGroups(parts, nil)
			if err != nil || parent == nil {
				return &regionWin{deepest: added}, len(added), err
			}
			deep, err := joinGroups([]map[string]*acc{added}, parent.deepest)
			if err != nil {
				return nil, 0, err
			}
			return &regionWin{deepest: deep, parent: parent, added: added}, len(added), nil
		})
		if err != nil {
			return nil, err
		}
		top = w
	}
	return top, nil
}

// joinGroups merges parts into base (shared, never changed): a group
// found once is shared, one found more than once gets an acc of its own.
func joinGroups(parts []map[string]*acc, base map[string]*acc) (map[string]*acc, error) {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]*acc{}
	}
	owned := map[string]bool{}
	for _, p := range parts {
		for code, a := range p {
			b := m[code]
			if b == nil {
				m[code] = a
				continue
			}
			if !owned[code] {
				b = b.clone()
				m[code], owned[code] = b, true
			}
			if err := b.merge(a); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// regionSegments are the folds of segs, read at once, each kept under
// its stamp.
func (e *Engine) regionSegments(ctx context.Context, gs *GenerationSource, segs []rollup.Span, gens []uint64) ([]map[string]*acc, error) {
	parts := make([]map[string]*acc, len(segs))
	errs := make([]error, len(segs))
	var wg sync.WaitGroup
	for i, sp := range segs {
		wg.Go(func() {
			parts[i], errs[i] = e.regionFolds.segments.get(ctx, regionSegKey{src: gs, span: sp, gen: gens[i]}, func() (map[string]*acc, int, error) {
				m, err := e.foldRegionSpan(ctx, gs, sp)
				return m, len(m), err
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return parts, nil
}

type regionRow struct {
	bucket time.Time
	region string
	agg    *rollup.RegionAgg
}

// foldRegionSpan merges one span's region rows per region; the buckets
// with an outage are folded from their cells.
func (e *Engine) foldRegionSpan(ctx context.Context, gs *GenerationSource, sp rollup.Span) (map[string]*acc, error) {
	var rows []regionRow
	var tallies rowSet
	var slab []rollup.Agg
	err := gs.regions.Read(ctx, sp.Res, sp.From, sp.To, func(b time.Time, code string, a *rollup.RegionAgg) error {
		rows = append(rows, regionRow{b, code, a})
		for s, t := range a.Services {
			// What outages reads of a row: its service, region, bucket
			// and counts.
			if len(slab) == cap(slab) {
				slab = make([]rollup.Agg, 0, rowChunk)
			}
			slab = append(slab, rollup.Agg{Count: t.Count, OK: t.OK})
			tallies.add(Row{Bucket: b, Res: sp.Res, Cell: rollup.Cell{Region: code, Service: s}, Agg: &slab[len(slab)-1]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := e.outages(tallies)
	down := map[int64]bool{}
	for k := range out {
		down[k.bucket] = true
	}
	// Most regions are in every bucket of the span.
	buckets := 0
	for i := range rows {
		if i == 0 || !rows[i].bucket.Equal(rows[i-1].bucket) {
			buckets++
		}
	}
	m := make(map[string]*acc, len(rows)/max(buckets, 1))
	tiles := map[string]tileOf{}
	for i := range rows {
		r := &rows[i]
		if down[r.bucket.UnixNano()] {
			continue
		}
		a := m[r.region]
		if a == nil {
			a = newAcc()
			m[r.region] = a
		}
		if err := e.addRegionRow(a, r.agg, tiles); err != nil {
			return nil, err
		}
	}
	for b := range down {
		at := time.Unix(0, b).UTC()
		bucket := rollup.Span{From: at, To: at.Add(sp.Res), Res: sp.Res}
		err := readSpan(ctx, gs, bucket, Query{}, func(r Row) error {
			if out.excludes(&r) {
				return nil
			}
			a := m[r.Cell.Region]
			if a == nil {
				a = newAcc()
				m[r.Cell.Region] = a
			}
			fc := e.foldCell(r.Cell, r.Agg)
			return a.addFolded(&fc)
		})
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

type tileOf struct {
	t  maptile.Tile
	ok bool
}

// addRegionRow merges a region row into a group, as addFolded merges its
// cells: tiles count when they are tiles at the engine's zoom.
func (e *Engine) addRegionRow(a *acc, g *rollup.RegionAgg, tiles map[string]tileOf) error {
	count, ok, lossSum, lossN, last := g.Totals()
	a.count += count
	a.ok += ok
	a.lossSum += lossSum
	a.lossN += lossN
	a.lastResultNanos = max(a.lastResultNanos, last)
	for p := range g.Probes {
		a.probes[p] = true
	}
	for qk := range g.Tiles {
		t, seen := tiles[qk]
		if !seen {
			if pt, err := tile.ParseQuadkey(qk); err == nil && int(pt.Z) == e.zoom {
				t = tileOf{pt, true}
			}
			tiles[qk] = t
		}
		if t.ok {
			a.tiles[t.t] = true
		}
	}
	for kind, k := range g.Kinds {
		x := a.kinds[kind]
		if x == nil {
			a.kinds[kind] = k.Clone()
			continue
		}
		if err := x.Merge(k); err != nil {
			return err
		}
	}
	return nil
}
