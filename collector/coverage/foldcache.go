package coverage

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
)

// The engine keeps what it folds from a GenerationSource at three levels,
// each under the stamps of the rows it came from:
//   - segments: a window is cut into its whole hours, its minute edges,
//     and the newest block of blockMinutes (see segments), and each
//     segment's fold is kept, so that a write into the running minute of
//     a live window refolds one block and a late result from a probe's
//     spool the segment it falls in, never the whole day;
//   - joins: the join of a window's segments but the newest block, which
//     is where live results land, so that a write there costs a block's
//     refold and the groupings, not a join of the whole window;
//   - windows: the window's fold with the region and tile groupings
//     derived from it, so that a repeat with no write in the window
//     reads and merges nothing.
// Keys hold the GenerationSource's pointer (which keeps it alive, so the
// address is never another's), the bounds, the filters and the stamps.

// blockMinutes aligns the cuts of a window's minute edges.
const blockMinutes = 10

// Bounds of what an engine keeps. A segment of a busy day is about ten
// thousand cells of a few KiB each.
const (
	maxSegments     = 32
	maxSegmentCells = 200_000
	maxWindows      = 4
	maxWindowCells  = 100_000
)

// segments cuts the window [from, to) as rollup.Plan does, then cuts off
// the first minute span's leading part up to a block boundary (where a
// sliding window's start moves, a minute at a time) and the last minute
// span's newest block (where live results land). The rest stays whole:
// every segment is a sketch per cell to build and join, which is what a
// cold query pays for. Each bucket lies in one segment, which outages
// need.
func segments(from, to time.Time) []rollup.Span {
	const block = blockMinutes * time.Minute
	spans := rollup.Plan(from, to)
	var out []rollup.Span
	for i, sp := range spans {
		if sp.Res != rollup.Minute {
			out = append(out, sp)
			continue
		}
		var cuts []time.Time
		if i == 0 {
			if c := sp.From.Truncate(block); c.Before(sp.From) {
				cuts = append(cuts, c.Add(block))
			}
		}
		if i == len(spans)-1 {
			cuts = append(cuts, sp.To.Add(-rollup.Minute).Truncate(block))
		}
		at := sp.From
		for _, c := range cuts {
			if c.After(at) && c.Before(sp.To) {
				out = append(out, rollup.Span{From: at, To: c, Res: sp.Res})
				at = c
			}
		}
		out = append(out, rollup.Span{From: at, To: sp.To, Res: sp.Res})
	}
	return out
}

// filters are a query's row filters: part of every key.
type filters struct{ carrier, service string }

type segmentKey struct {
	src      *GenerationSource
	res      time.Duration
	from, to int64
	filters
	gen uint64
}

type windowKey struct {
	src      *GenerationSource
	from, to int64 // the window widened to whole minutes
	filters
	// gens holds each segment's stamp.
	gens string
}

// foldCache holds an engine's folds.
type foldCache struct {
	segments lru[segmentKey, cellFold]
	joins    lru[windowKey, []foldCell]
	windows  lru[windowKey, *folded]
}

func newFoldCache() *foldCache {
	c := &foldCache{}
	c.segments = lru[segmentKey, cellFold]{maxEntries: maxSegments, maxSize: maxSegmentCells,
		replaces: func(k, old segmentKey) bool {
			return old.src == k.src && old.res == k.res && old.from == k.from && old.to == k.to && old.filters == k.filters
		}}
	sameRows := func(k, old windowKey) bool {
		return old.src == k.src && old.from == k.from && old.to == k.to && old.filters == k.filters
	}
	c.joins = lru[windowKey, []foldCell]{maxEntries: maxWindows, maxSize: maxWindowCells, replaces: sameRows}
	c.windows = lru[windowKey, *folded]{maxEntries: maxWindows, maxSize: maxWindowCells, replaces: sameRows}
	return c
}

// fold returns the fold of q's window: kept ones for a GenerationSource,
// a fresh one for any other feed.
func (e *Engine) fold(ctx context.Context, src Feed, q Query) (*folded, error) {
	gs, ok := src.(*GenerationSource)
	if !ok {
		parts, err := e.foldSpans(ctx, src, longestFirst(rollup.Plan(q.From, q.To)), q)
		if err != nil {
			return nil, err
		}
		cells, err := e.join(parts, false)
		return &folded{cells: cells}, err
	}
	segs := segments(q.From, q.To)
	if len(segs) == 0 {
		return &folded{}, nil
	}
	// Stamps before rows (see NewGenerationSource).
	gens := make([]uint64, len(segs))
	for i, sp := range segs {
		gens[i] = gs.Generation(sp.Res, sp.From, sp.To)
	}
	f := filters{q.Carrier, q.Service}
	k := windowKey{src: gs, from: segs[0].From.UnixNano(), to: segs[len(segs)-1].To.UnixNano(), filters: f, gens: signature(gens)}
	return e.folds.windows.get(ctx, k, func() (*folded, int, error) {
		// The newest block, where live results land, stays out of the
		// join: a write into it costs its refold and the groupings, not
		// a join of the whole window.
		stable, top := segs, []rollup.Span(nil)
		if n := len(segs); n > 1 && segs[n-1].Res == rollup.Minute {
			stable, top = segs[:n-1], segs[n-1:]
		}
		var (
			base       []foldCell
			newest     cellFold
			errB, errT error
			wg         sync.WaitGroup
		)
		wg.Go(func() { base, errB = e.keptJoin(ctx, gs, stable, gens[:len(stable)], q) })
		if top != nil {
			wg.Go(func() { newest, errT = e.keptSegment(ctx, gs, top[0], gens[len(segs)-1], q) })
		}
		wg.Wait()
		if err := errors.Join(errB, errT); err != nil {
			return nil, 0, err
		}
		fd := &folded{cells: base, top: e.cells(newest)}
		return fd, len(fd.cells) + len(fd.top), nil
	})
}

// keptJoin is the join of segments, kept under their stamps.
func (e *Engine) keptJoin(ctx context.Context, gs *GenerationSource, segs []rollup.Span, gens []uint64, q Query) ([]foldCell, error) {
	k := windowKey{src: gs, from: segs[0].From.UnixNano(), to: segs[len(segs)-1].To.UnixNano(),
		filters: filters{q.Carrier, q.Service}, gens: signature(gens)}
	return e.folds.joins.get(ctx, k, func() ([]foldCell, int, error) {
		order := make([]int, len(segs))
		for i := range order {
			order[i] = i
		}
		// The longest first (see join).
		slices.SortStableFunc(order, func(a, b int) int {
			return cmp.Compare(segs[b].To.Sub(segs[b].From), segs[a].To.Sub(segs[a].From))
		})
		parts := make([]cellFold, len(segs))
		errs := make([]error, len(segs))
		var wg sync.WaitGroup
		for i, j := range order {
			wg.Go(func() { parts[i], errs[i] = e.keptSegment(ctx, gs, segs[j], gens[j], q) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, 0, err
		}
		cells, err := e.join(parts, true)
		return cells, len(cells), err
	})
}

// keptSegment is the fold of one segment, kept under its stamp.
func (e *Engine) keptSegment(ctx context.Context, gs *GenerationSource, sp rollup.Span, gen uint64, q Query) (cellFold, error) {
	k := segmentKey{src: gs, res: sp.Res, from: sp.From.UnixNano(), to: sp.To.UnixNano(), filters: filters{q.Carrier, q.Service}, gen: gen}
	return e.folds.segments.get(ctx, k, func() (cellFold, int, error) {
		m, err := e.foldSpan(ctx, gs, sp, q)
		return m, len(m), err
	})
}

// signature encodes stamps into a key.
func signature(gens []uint64) string {
	var b []byte
	for _, g := range gens {
		b = binary.AppendUvarint(b, g)
	}
	return string(b)
}
