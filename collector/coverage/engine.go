// Package coverage turns rollup rows into what planners see: the status of
// every region and tile over a window, the people affected, and the
// services view. It reads rows through a Source, so that any store can
// feed it, and never sees a raw result.
package coverage

import (
	"context"
	"errors"
	"iter"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// Row is one stored aggregate.
type Row struct {
	Bucket time.Time
	Res    time.Duration
	Cell   rollup.Cell
	Agg    *rollup.Agg
}

// Probe is a registered probe as coverage sees it.
type Probe struct {
	ID, Region, Carrier string
	LastSeen            time.Time
}

// Query selects a window and filters. Now is the clock the status rules
// use (silent, live windows).
type Query struct {
	From, To, Now time.Time
	Carrier       string // "" = every carrier
	Service       string // "" = every service and the uplink
}

// live says whether the window ends now, the only case where silence means
// a cut link rather than results still on their way.
func (q Query) live(th Thresholds) bool { return q.Now.Sub(q.To) < th.SilentAfter }

// Engine computes coverage over one region set.
type Engine struct {
	regions     *region.Regions
	tiles       *tile.Index
	zoom        int
	th          Thresholds
	pop         map[string]population
	folds       *foldCache
	regionFolds *regionCache
}

// NewEngine prepares the population estimates; zoom is the zoom of the
// tiles the rows carry.
func NewEngine(regions *region.Regions, tiles *tile.Index, zoom int, th Thresholds) *Engine {
	return &Engine{regions: regions, tiles: tiles, zoom: zoom, th: th, pop: estimatePopulation(regions),
		folds: newFoldCache(), regionFolds: newRegionCache()}
}

// Thresholds are the status rules in force.
func (e *Engine) Thresholds() Thresholds { return e.th }

// PrepareCovers computes the tile cover of every level at the engine's
// zoom, which every region view reads for the measured share and would
// otherwise compute on its first request (a second of CPU for a
// country's levels). A collector calls it once at start, so the first
// view after a restart does not pay it. An error names the level; the
// views of that level return it too.
func (e *Engine) PrepareCovers() error {
	if e.tiles == nil {
		return nil
	}
	var errs []error
	for _, level := range e.regions.Levels() {
		if _, err := e.tiles.Cover(level, e.zoom); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rowSet holds a window's rows in chunks of rowChunk, so that reading
// hundreds of thousands of rows never copies them to grow a slice.
type rowSet [][]Row

const rowChunk = 4096

func (s *rowSet) add(r Row) {
	if n := len(*s); n == 0 || len((*s)[n-1]) == rowChunk {
		*s = append(*s, make([]Row, 0, rowChunk))
	}
	last := &(*s)[len(*s)-1]
	*last = append(*last, r)
}

// all yields every row in order.
func (s rowSet) all() iter.Seq[*Row] {
	return func(yield func(*Row) bool) {
		for _, chunk := range s {
			for i := range chunk {
				if !yield(&chunk[i]) {
					return
				}
			}
		}
	}
}

// readSpan calls fn for the rows of one span that pass q's filters.
func readSpan(ctx context.Context, src Feed, sp rollup.Span, q Query, fn func(Row) error) error {
	return src.Rows(ctx, sp.Res, sp.From, sp.To, func(r Row) error {
		if (q.Carrier != "" && r.Cell.Carrier != q.Carrier) || (q.Service != "" && r.Cell.Service != q.Service) {
			return nil
		}
		return fn(r)
	})
}

// acc gathers the rows of one cell.
type acc struct {
	count, ok       uint64
	lossSum         float64
	lossN           uint64
	kinds           map[string]*rollup.Agg
	probes          map[string]bool
	tiles           maptile.Set
	lastResultNanos int64

	// fig keeps figures: an acc of a kept fold is read by many queries
	// and never changes once built.
	figOnce sync.Once
	fig     figures
}

func newAcc() *acc {
	return &acc{kinds: map[string]*rollup.Agg{}, probes: map[string]bool{}, tiles: maptile.Set{}}
}

// clone copies a kept acc, to merge more into.
func (a *acc) clone() *acc {
	c := &acc{count: a.count, ok: a.ok, lossSum: a.lossSum, lossN: a.lossN, lastResultNanos: a.lastResultNanos,
		kinds: make(map[string]*rollup.Agg, len(a.kinds)), probes: maps.Clone(a.probes), tiles: maps.Clone(a.tiles)}
	for k, g := range a.kinds {
		c.kinds[k] = g.Clone()
	}
	return c
}

func (a *acc) merge(b *acc) error {
	a.count += b.count
	a.ok += b.ok
	a.lossSum += b.lossSum
	a.lossN += b.lossN
	a.lastResultNanos = max(a.lastResultNanos, b.lastResultNanos)
	for p := range b.probes {
		a.probes[p] = true
	}
	for t := range b.tiles {
		a.tiles[t] = true
	}
	for kind, g := range b.kinds {
		k := a.kinds[kind]
		if k == nil {
			k = rollup.NewAgg()
			a.kinds[kind] = k
		}
		if err := k.Merge(g); err != nil {
			return err
		}
	}
	return nil
}

// figures are an acc's numbers.
type figures struct {
	Samples      int
	Availability float64 // NaN without samples
	Loss         float64 // NaN without icmp results
	P50, P95     float64 // ms over every successful check; NaN without any
	P95ByKind    map[string]float64
}

// figures computes a's numbers once; call it only when a is complete.
func (a *acc) figures() figures {
	if a == nil {
		return a.compute()
	}
	a.figOnce.Do(func() { a.fig = a.compute() })
	f := a.fig
	f.P95ByKind = maps.Clone(f.P95ByKind) // the caller's to keep
	return f
}

func (a *acc) compute() figures {
	f := figures{Availability: math.NaN(), Loss: math.NaN(), P50: math.NaN(), P95: math.NaN(), P95ByKind: map[string]float64{}}
	if a == nil {
		return f
	}
	f.Samples = int(a.count)
	if a.count > 0 {
		f.Availability = float64(a.ok) / float64(a.count)
	}
	if a.lossN > 0 {
		f.Loss = a.lossSum / float64(a.lossN)
	}
	all := rollup.NewAgg()
	for kind, g := range a.kinds {
		if p := g.Quantile(0.95); !math.IsNaN(p) {
			f.P95ByKind[kind] = p
		}
		all.Merge(g)
	}
	f.P50, f.P95 = all.Quantile(0.5), all.Quantile(0.95)
	return f
}

func (f figures) stats(probes int, lastSeen time.Time, live bool) CellStats {
	av := f.Availability
	if math.IsNaN(av) {
		av = 0
	}
	return CellStats{Probes: probes, Samples: f.Samples, Availability: av, LatencyP95: f.P95ByKind,
		Loss: f.Loss, LastSeen: lastSeen, Live: live}
}
