package coverage

import (
	"context"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
)

// Feed is where the engine reads rollup rows from.
type Feed interface {
	// Rows calls fn for every row of resolution res with from <= Bucket
	// < to, and stops at (and returns) fn's first error. It may be called
	// for several spans at once. The rows are only read: a Feed may hand
	// the same Row to several callers.
	Rows(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error
}

// Source is a Feed as a plain function: one that says nothing about when
// its rows change, so the engine folds them afresh for every view.
type Source func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error

// Rows implements Feed.
func (s Source) Rows(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
	return s(ctx, res, from, to, fn)
}

// GenerationFunc stamps the rows of resolution res with from <= Bucket <
// to. Its contract: after any write or deletion that changes one of those
// rows has completed, it returns a value it has never returned for that
// range before (a counter that only grows does this). It may change when
// nothing did; that only costs a refold.
type GenerationFunc func(res time.Duration, from, to time.Time) uint64

// GenerationSource is a Feed that can say when its rows change, so that
// the engine keeps what it folds from a window's rows (a few thousand
// aggregates, not the rows) until they do. The engine tells one by its
// type and keeps its folds by the pointer: use one GenerationSource per
// store, made once, and never a wrapper that filters its rows (a wrapper
// is another Feed, folded afresh, which is what it needs).
type GenerationSource struct {
	read    Source
	gen     GenerationFunc
	regions *RegionRows
}

// RegionRows are a store's region rows (rollup.RegionAgg): every cell of
// a region and bucket merged, stamped as the cell rows are (a region row
// changes exactly when a cell row of its bucket does). The engine reads
// them instead of the cells for the region views of unfiltered windows
// that start at or after Since (region_fold.go).
type RegionRows struct {
	// Since is the first bucket start from which every bucket has its
	// region rows.
	Since time.Time
	// Read calls fn for every region row of resolution res with from <=
	// bucket < to, and stops at (and returns) fn's first error.
	Read func(ctx context.Context, res time.Duration, from, to time.Time, fn func(bucket time.Time, region string, a *rollup.RegionAgg) error) error
}

// WithRegionRows makes g feed region rows too; call it once, before the
// engine first reads g.
func (g *GenerationSource) WithRegionRows(r RegionRows) *GenerationSource {
	g.regions = &r
	return g
}

// NewGenerationSource feeds read's rows, stamped by gen. The engine reads
// a range's stamp before its rows, so rows written in between only make
// a fold that the next stamp drops.
func NewGenerationSource(read Source, gen GenerationFunc) *GenerationSource {
	return &GenerationSource{read: read, gen: gen}
}

// Rows implements Feed.
func (g *GenerationSource) Rows(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
	return g.read(ctx, res, from, to, fn)
}

// Generation is the stamp of a range of rows.
func (g *GenerationSource) Generation(res time.Duration, from, to time.Time) uint64 {
	return g.gen(res, from, to)
}

var (
	_ Feed = Source(nil)
	_ Feed = (*GenerationSource)(nil)
)
