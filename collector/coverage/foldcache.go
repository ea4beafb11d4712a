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

// The engine keeps what it folds from a GenerationSource, each part under
// the stamps of the rows it came from:
//   - segments: a window is cut into its whole hours, its minute edges,
//     and the minutes of its newest block of blockMinutes (see segments),
//     and each segment's fold is kept, so that a write into the running
//     minute refolds that minute and a late result from a probe's spool
//     the segment it falls in, never the whole day;
//   - layers (layer.go), each with the groups the views asked for: the
//     root joins the segments before the newest block, a layer above it
//     adds the block's minutes but the last, and the top layer adds the
//     last minute, where live results land. A write there makes a new top
//     layer that starts from the previous one's groups and redoes those of
//     the cells that changed, so a repeat while probes report costs the
//     refold of a minute and a few groups, not a join of the window; a
//     repeat with no write in the window reads and merges nothing.
// Keys hold the GenerationSource's pointer (which keeps it alive, so the
// address is never another's), the bounds, the filters and the stamps.

// blockMinutes aligns the cuts of a window's minute edges.
const blockMinutes = 10

// Bounds of what an engine keeps, in cells (a cell is a few hundred bytes
// while its sketch stays encoded, a few KiB once merged into): kept
// segments, and layers, whose groups hold an aggregate per region and
// tile at most (docs/storage.md gives the worst case).
const (
	maxSegments     = 64
	maxSegmentCells = 250_000
	maxLayers       = 12
	maxLayerCells   = 300_000
)

// segments cuts the window [from, to) as rollup.Plan does, then cuts off
// the first minute span's leading part up to a block boundary (where a
// sliding window's start moves, a minute at a time) and cuts the last
// minute span's newest block (where live results land) into its minutes,
// which segs[newest:] are (newest is len(segs) without minute edges at
// the end). The rest stays whole: every segment is a sketch per cell to
// build and join, which is what a cold query pays for. Each bucket lies
// in one segment, which outages need.
func segments(from, to time.Time) (segs []rollup.Span, newest int) {
	const block = blockMinutes * time.Minute
	spans := rollup.Plan(from, to)
	newest = -1
	for i, sp := range spans {
		if sp.Res != rollup.Minute {
			segs = append(segs, sp)
			continue
		}
		at := sp.From
		if i == 0 {
			if c := sp.From.Truncate(block).Add(block); c.After(at) && c.Before(sp.To) && sp.From.Truncate(block).Before(sp.From) {
				segs = append(segs, rollup.Span{From: at, To: c, Res: sp.Res})
				at = c
			}
		}
		if i < len(spans)-1 {
			segs = append(segs, rollup.Span{From: at, To: sp.To, Res: sp.Res})
			continue
		}
		last := sp.To.Add(-rollup.Minute).Truncate(block)
		if last.After(at) {
			segs = append(segs, rollup.Span{From: at, To: last, Res: sp.Res})
			at = last
		}
		newest = len(segs)
		for ; at.Before(sp.To); at = at.Add(rollup.Minute) {
			segs = append(segs, rollup.Span{From: at, To: at.Add(rollup.Minute), Res: sp.Res})
		}
	}
	if newest < 0 {
		newest = len(segs)
	}
	return segs, newest
}

// tiers are the segments of each layer: those before the newest block,
// the block's minutes but the last, the last. Empty tiers above the root
// are left out.
func tiers(n, newest int) [][2]int {
	out := [][2]int{{0, newest}}
	if n-newest > 1 {
		out = append(out, [2]int{newest, n - 1})
	}
	if n > newest {
		out = append(out, [2]int{n - 1, n})
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

type layerKey struct {
	src      *GenerationSource
	from, to int64 // the window widened to whole minutes
	filters
	depth  int
	parent *layer
	// gens holds the stamp of each of the layer's segments.
	gens string
}

// sameRows says whether two keys are of the same layer of a window.
func (k layerKey) sameRows(old layerKey) bool {
	return old.src == k.src && old.from == k.from && old.to == k.to && old.filters == k.filters && old.depth == k.depth
}

// foldCache holds an engine's folds.
type foldCache struct {
	segments lru[segmentKey, *segFold]
	layers   lru[layerKey, *layer]
}

func newFoldCache() *foldCache {
	c := &foldCache{}
	c.segments = lru[segmentKey, *segFold]{maxEntries: maxSegments, maxSize: maxSegmentCells,
		replaces: func(k, old segmentKey) bool {
			return old.src == k.src && old.res == k.res && old.from == k.from && old.to == k.to && old.filters == k.filters
		}}
	c.layers = lru[layerKey, *layer]{maxEntries: maxLayers, maxSize: maxLayerCells, replaces: layerKey.sameRows}
	return c
}

// fold returns the top layer of q's window: kept ones for a
// GenerationSource, a fresh root for any other feed.
func (e *Engine) fold(ctx context.Context, src Feed, q Query) (*layer, error) {
	gs, ok := src.(*GenerationSource)
	if !ok {
		parts, err := e.foldSpans(ctx, src, longestFirst(rollup.Plan(q.From, q.To)), q)
		if err != nil {
			return nil, err
		}
		return e.newRoot(parts, false)
	}
	segs, newest := segments(q.From, q.To)
	if len(segs) == 0 {
		return &layer{}, nil
	}
	// Stamps before rows (see NewGenerationSource).
	gens := make([]uint64, len(segs))
	for i, sp := range segs {
		gens[i] = gs.Generation(sp.Res, sp.From, sp.To)
	}
	f := filters{q.Carrier, q.Service}
	var top *layer
	for depth, t := range tiers(len(segs), newest) {
		k := layerKey{src: gs, from: segs[0].From.UnixNano(), to: segs[len(segs)-1].To.UnixNano(), filters: f,
			depth: depth, parent: top, gens: signature(gens[t[0]:t[1]])}
		// The layer this one replaces, if any, to start from (looked up
		// first: a new key drops it).
		prev, _ := e.folds.layers.latest(func(old layerKey) bool { return k.sameRows(old) && old.parent == k.parent })
		parent := top
		l, err := e.folds.layers.get(ctx, k, func() (*layer, int, error) {
			parts, err := e.keptSegments(ctx, gs, segs[t[0]:t[1]], gens[t[0]:t[1]], q)
			if err != nil {
				return nil, 0, err
			}
			var l *layer
			if depth == 0 {
				// The longest first (see join).
				byLength := make([]*segFold, len(parts))
				for i, j := range longestIndex(segs[t[0]:t[1]]) {
					byLength[i] = parts[j]
				}
				l, err = e.newRoot(byLength, true)
			} else {
				l, err = e.newLayer(parent, parts, prev)
			}
			if err != nil {
				return nil, 0, err
			}
			return l, l.size(), nil
		})
		if err != nil {
			return nil, err
		}
		top = l
	}
	return top, nil
}

// keptSegments are the folds of segs, read at once, each kept under its
// stamp.
func (e *Engine) keptSegments(ctx context.Context, gs *GenerationSource, segs []rollup.Span, gens []uint64, q Query) ([]*segFold, error) {
	parts := make([]*segFold, len(segs))
	errs := make([]error, len(segs))
	var wg sync.WaitGroup
	for i := range segs {
		wg.Go(func() { parts[i], errs[i] = e.keptSegment(ctx, gs, segs[i], gens[i], q) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return parts, nil
}

// keptSegment is the fold of one segment, kept under its stamp.
func (e *Engine) keptSegment(ctx context.Context, gs *GenerationSource, sp rollup.Span, gen uint64, q Query) (*segFold, error) {
	k := segmentKey{src: gs, res: sp.Res, from: sp.From.UnixNano(), to: sp.To.UnixNano(), filters: filters{q.Carrier, q.Service}, gen: gen}
	// The fold this one replaces, if any, to start from (looked up
	// first: a new key drops it).
	prev, _ := e.folds.segments.latest(func(old segmentKey) bool { return e.folds.segments.replaces(k, old) })
	return e.folds.segments.get(ctx, k, func() (*segFold, int, error) {
		s, err := e.foldSpan(ctx, gs, sp, q, prev)
		if err != nil {
			return nil, 0, err
		}
		return s, s.size(), nil
	})
}

// longestIndex orders the positions of spans for join.
func longestIndex(spans []rollup.Span) []int {
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(spans[b].To.Sub(spans[b].From), spans[a].To.Sub(spans[a].From))
	})
	return order
}

// signature encodes stamps into a key.
func signature(gens []uint64) string {
	var b []byte
	for _, g := range gens {
		b = binary.AppendUvarint(b, g)
	}
	return string(b)
}
