// Package store defines how the collector keeps results. Every
// implementation passes the shared suite in package storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/wire"
)

// ErrClosed is returned by a store used after Close.
var ErrClosed = errors.New("store: closed")

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
	// it arrives.
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
