// Package store defines how the collector keeps results. Every
// implementation passes the shared suite in package storetest.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/wire"
)

// ErrClosed is returned by a store used after Close.
var ErrClosed = errors.New("store: closed")

// DefaultMaxGap is Write.MaxGap when it is 0: how far above the
// acknowledgement a batch's FirstSeq may lie. A probe's FirstSeq passes
// its acknowledgement only by the results its spool dropped (full or too
// old); the default spool (256 MiB) holds about a million results, so 100
// million is a hundred spools' worth of drops (a probe of 100 checks a
// second cut off for 11 days past a full spool). What claims more is a
// broken or hostile probe: believing it would settle every seq below as
// lost and answer the probe's real results as duplicates.
const DefaultMaxGap = 100_000_000

// GapError is a Write whose FirstSeq lies more than its bound above the
// probe's acknowledgement, or past wire.MaxSeq+1. Nothing of that Write
// was stored or settled; the ingest answers it 400.
type GapError struct {
	Probe    string
	FirstSeq uint64
	AckedSeq uint64
	MaxGap   uint64
}

func (e *GapError) Error() string {
	if e.FirstSeq > wire.MaxSeq+1 {
		return fmt.Sprintf("first_seq (%d) of probe %s is above the highest seq (%d)", e.FirstSeq, e.Probe, uint64(wire.MaxSeq))
	}
	return fmt.Sprintf("first_seq (%d) of probe %s is more than %d above its acked_seq (%d)", e.FirstSeq, e.Probe, e.MaxGap, e.AckedSeq)
}

// SeqError is a Write holding a result (or a rejected seq) outside
// 1..wire.MaxSeq: the caller was to refuse it. Nothing of that Write was
// stored.
type SeqError struct {
	Probe string
	Seq   uint64
}

func (e *SeqError) Error() string {
	return fmt.Sprintf("seq %d of probe %s is outside 1..%d", e.Seq, e.Probe, uint64(wire.MaxSeq))
}

// CheckSeqs returns a *SeqError for a seq of w outside 1..wire.MaxSeq.
// Every store calls it, and CheckGap, before it changes anything, so that
// both refuse alike.
func CheckSeqs(w *Write) error {
	for i := range w.Results {
		if s := w.Results[i].Seq; s == 0 || s > wire.MaxSeq {
			return &SeqError{Probe: w.Probe, Seq: s}
		}
	}
	for _, s := range w.Rejected {
		if s == 0 || s > wire.MaxSeq {
			return &SeqError{Probe: w.Probe, Seq: s}
		}
	}
	return nil
}

// CheckGap returns a *GapError when w.FirstSeq is past wire.MaxSeq+1 or
// would settle more than w.MaxGap seqs above the acknowledgement acked.
func CheckGap(w *Write, acked uint64) error {
	maxGap := w.MaxGap
	if maxGap == 0 {
		maxGap = DefaultMaxGap
	}
	if w.FirstSeq > wire.MaxSeq+1 || w.FirstSeq > acked && w.FirstSeq-acked-1 > maxGap {
		return &GapError{Probe: w.Probe, FirstSeq: w.FirstSeq, AckedSeq: acked, MaxGap: maxGap}
	}
	return nil
}

// Record is a stored result with the probe that sent it.
type Record struct {
	Probe string
	wire.Result
}

// Write is one batch of a probe's results, already validated.
type Write struct {
	Probe   string
	Results []wire.Result
	// Rejected lists seqs that were refused: they are settled (never stored,
	// never expected again) so that the acknowledgement can move past them.
	Rejected []uint64
	// FirstSeq: the probe holds nothing below it any more; seqs below it that
	// were never stored are settled and counted as lost.
	FirstSeq uint64
	// MaxGap bounds how many seqs a FirstSeq may settle at once: FirstSeq-1
	// may be at most MaxGap above the acknowledgement (0: DefaultMaxGap).
	// A Write past it fails whole with a *GapError.
	MaxGap uint64
	// Received is the collector's clock when the batch arrived.
	Received time.Time
	// Cells says where each result was measured, parallel to Results. The
	// store adds the results it stores (never a duplicate) to the rollups
	// of their cells in the same transaction, so that a coverage count is
	// exact through retries and crashes.
	Cells []rollup.Cell
}

// WriteResult says what a Write did.
type WriteResult struct {
	Stored     int
	Duplicates int
	// AckedSeq is the probe's highest seq with every seq up to it settled.
	AckedSeq uint64
}

// ProbeState is what the store knows of one probe, kept exact so that loss
// and duplication are visible from outside.
type ProbeState struct {
	ID            string
	LastSeen      time.Time // collector clock of the last batch that stored something
	LastSeq       uint64    // highest seq stored
	AckedSeq      uint64
	ResultsStored uint64
	Lost          uint64 // seqs settled without ever being stored (dropped by the probe)
}

// Store keeps results. Implementations must be safe for concurrent use.
type Store interface {
	// Write stores a batch durably and returns only after it is committed.
	// A (probe, seq) that is already stored is skipped and counted as a
	// duplicate, never stored twice, however often and however concurrently
	// it arrives. A Write with a seq outside 1..wire.MaxSeq, or whose
	// FirstSeq passes its MaxGap, changes nothing and returns a *SeqError
	// or a *GapError (see CheckSeqs and CheckGap).
	Write(ctx context.Context, w Write) (WriteResult, error)
	// Probes returns the state of every probe that has written, by id.
	Probes(ctx context.Context) ([]ProbeState, error)
	// Scan calls fn for every result with from <= Time < to, in time
	// order. It stops at the first error fn returns and returns it.
	Scan(ctx context.Context, from, to time.Time, fn func(Record) error) error
	// Close releases the store; later calls return ErrClosed.
	Close() error
	RollupReader
}

// RollupReader reads the rollups a Store keeps.
type RollupReader interface {
	// Rollups calls fn for every rollup row of resolution res (rollup.Minute
	// or rollup.Hour) with from <= bucket < to, in bucket order.
	Rollups(ctx context.Context, res time.Duration, from, to time.Time, fn func(bucket time.Time, c rollup.Cell, a *rollup.Agg) error) error
}
