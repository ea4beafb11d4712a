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
// The window is cut as the cell fold cuts it (segments): each segment's
// fold is kept under its stamp, the segments before the newest block are
// joined once into a root, and the newest block's minutes are added to the
// root's groups, cloning only the groups they touch, so that a write into
// the running minute refolds one minute.

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
	maxRegionWindows      = 8
	maxRegionWindowGroups = 400_000
)

func newRegionCache() *regionCache {
	c := &regionCache{}
	c.segments = lru[regionSegKey, map[string]*acc]{maxEntries: maxRegionSegments, maxSize: maxRegionSegmentSize,
		replaces: func(k, old regionSegKey) bool { return k.src == old.src && k.span == old.span }}
	c.windows = lru[regionWinKey, *regionWin]{maxEntries: maxRegionWindows, maxSize: maxRegionWindowGroups,
		replaces: func(k, old regionWinKey) bool {
			return k.src == old.src && k.from == old.from && k.to == old.to && k.top == old.top
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
	top      bool
	gens     string
	root     *regionWin // a top's root
}

// regionWin is a window's groups: those of the deepest regions, and those
// of coarser levels built from them on first need.
type regionWin struct {
	deepest map[string]*acc

	// A top's root and the groups its newest minutes add (by deepest
	// region), to build its levels from the root's.
	root  *regionWin
	added map[string]*acc

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
	if w.root != nil {
		if base, err = w.root.level(e, level); err != nil {
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
// segments with the newest block's minutes added.
func (e *Engine) regionWindow(ctx context.Context, gs *GenerationSource, segs []rollup.Span, newest int) (*regionWin, error) {
	gens := make([]uint64, len(segs))
	for i, sp := range segs {
		gens[i] = gs.Generation(sp.Res, sp.From, sp.To) // stamps before rows
	}
	from, to := segs[0].From.UnixNano(), segs[len(segs)-1].To.UnixNano()
	rk := regionWinKey{src: gs, from: from, to: to, gens: signature(gens[:newest])}
	root, err := e.regionFolds.windows.get(ctx, rk, func() (*regionWin, int, error) {
		parts, err := e.regionSegments(ctx, gs, segs[:newest], gens[:newest])
		if err != nil {
			return nil, 0, err
		}
		deep, err := joinGroups(parts, nil)
		if err != nil {
			return nil, 0, err
		}
		return &regionWin{deepest: deep}, len(deep), nil
	})
	if err != nil || newest == len(segs) {
		return root, err
	}
	tk := regionWinKey{src: gs, from: from, to: to, top: true, gens: signature(gens), root: root}
	return e.regionFolds.windows.get(ctx, tk, func() (*regionWin, int, error) {
		parts, err := e.regionSegments(ctx, gs, segs[newest:], gens[newest:])
		if err != nil {
			return nil, 0, err
		}
		added, err := joinGroups(parts, nil)
		if err != nil {
			return nil, 0, err
		}
		deep, err := joinGroups([]map[string]*acc{added}, root.deepest)
		if err != nil {
			return nil, 0, err
		}
		return &regionWin{deepest: deep, root: root, added: added}, len(added), nil
	})
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
	err := gs.regions.Read(ctx, sp.Res, sp.From, sp.To, func(b time.Time, code string, a *rollup.RegionAgg) error {
		rows = append(rows, regionRow{b, code, a})
		for s, t := range a.Services {
			// What outages reads of a row: its service, region, bucket
			// and counts.
			tallies.add(Row{Bucket: b, Res: sp.Res, Cell: rollup.Cell{Region: code, Service: s},
				Agg: &rollup.Agg{Count: t.Count, OK: t.OK}})
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
	m := map[string]*acc{}
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
