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

// EpochError is a Write from a spool epoch the probe already left: a
// second sender behind the same probe id (a cloned probe, or an old spool
// brought back). Nothing of it was stored; the ingest answers it 409.
type EpochError struct {
	Probe, Epoch, Current string
}

func (e *EpochError) Error() string {
	return fmt.Sprintf("probe %s sent a batch of spool epoch %s, which it already left for epoch %s: two senders behind one probe id "+
		"(a copied probe config or spool?) or an old spool brought back", e.Probe, e.Epoch, e.Current)
}

// ConflictError is a Write holding results at seqs the probe's current
// seq space has already settled, which the store does not hold as sent:
// no result of the probe at that seq and time, or one of another kind or
// target. Two senders behind one probe id give one seq to two results (a
// probe cloned with its spool: same id, token and epoch); the second's
// would otherwise be acknowledged as duplicates and lost. Nothing of the
// Write was stored or settled; the ingest answers it 409, and the sender
// keeps it in its spool. The check name is not compared: the collector may
// have folded it into "other".
type ConflictError struct {
	Probe       string
	Epoch       string
	First, Last uint64 // lowest and highest conflicting seq
	Count       int    // conflicting results in the Write
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("probe %s sent %d results at seqs %d-%d (spool epoch %q) that already hold other results: "+
		"two senders behind one probe id (a probe server copied with its spool?)", e.Probe, e.Count, e.First, e.Last, e.Epoch)
}

// Conflicts collects a Write's results that conflict with stored ones;
// the zero value is ready.
type Conflicts struct{ e *ConflictError }

// Add notes seq as a conflicting result of w.
func (c *Conflicts) Add(w *Write, seq uint64) {
	if c.e == nil {
		c.e = &ConflictError{Probe: w.Probe, Epoch: w.Epoch, First: seq, Last: seq}
	}
	c.e.First, c.e.Last = min(c.e.First, seq), max(c.e.Last, seq)
	c.e.Count++
}

// Err returns the *ConflictError, or nil when nothing conflicted.
func (c *Conflicts) Err() error {
	if c.e == nil {
		return nil
	}
	return c.e
}

// SameResult says whether stored is sent as a store keeps it: same kind
// and target (times are compared by the store, at its precision).
func SameResult(stored, sent *wire.Result) bool {
	return stored.Kind == sent.Kind && stored.Target == sent.Target
}

// MaxOldEpochs is how many of a probe's former epochs a store remembers
// to refuse with an *EpochError.
const MaxOldEpochs = 16

// EpochState is the part of a probe's state that epochs change. Both
// stores keep it and go through NextEpoch and CountUnspooled, so that
// they judge alike.
type EpochState struct {
	Epoch     string
	Old       []string // former epochs, oldest first, at most MaxOldEpochs
	Epochs    uint64
	Unspooled uint64 // the current epoch's reported running total
	Dropped   uint64 // counted from Unspooled reports, over all epochs
}

// NextEpoch judges w's epoch against es. It returns an *EpochError for a
// former epoch; true when w starts a new seq space (es is then updated:
// the caller settles the old space's unacknowledged seqs as lost and
// starts again at acked 0). A first epoch, or a Write without one,
// keeps the seq space.
func NextEpoch(es *EpochState, w *Write) (bool, error) {
	switch {
	case w.Epoch == "" || w.Epoch == es.Epoch:
		return false, nil
	case es.Epoch == "":
		es.Epoch = w.Epoch
		return false, nil
	}
	for _, old := range es.Old {
		if old == w.Epoch {
			return false, &EpochError{Probe: w.Probe, Epoch: w.Epoch, Current: es.Epoch}
		}
	}
	es.Old = append(es.Old, es.Epoch)
	if len(es.Old) > MaxOldEpochs {
		es.Old = es.Old[len(es.Old)-MaxOldEpochs:]
	}
	es.Epoch, es.Unspooled = w.Epoch, 0
	es.Epochs++
	return true, nil
}

// CountUnspooled returns how many results w's report adds to what es
// counted for the current epoch, and records them.
func CountUnspooled(es *EpochState, w *Write) uint64 {
	if w.Unspooled <= es.Unspooled {
		return 0
	}
	n := w.Unspooled - es.Unspooled
	es.Unspooled = w.Unspooled
	es.Dropped += n
	return n
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
	// Epoch is the spool epoch the batch came from (wire.Batch.SpoolEpoch;
	// "" from a probe older than epochs). See NextEpoch for what a new one
	// does; a Write from an epoch the probe already left fails whole with
	// an *EpochError.
	Epoch string
	// Unspooled is the probe's running total, for this epoch, of results
	// it dropped before they got a seq (wire.Dropped.Results). What it
	// adds to the total already counted is counted as lost, once.
	Unspooled uint64
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
	// NewEpoch: this Write started a new seq space for the probe, and
	// EpochLost of the old one's seqs were never stored.
	NewEpoch  bool
	EpochLost uint64
	// Unspooled is how many results the probe newly reported as dropped
	// before they got a seq (counted in Lost and Dropped).
	Unspooled uint64
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
	// Dropped is the part of Lost the probe reported as dropped before
	// they got a seq (Write.Unspooled), over all its epochs.
	Dropped uint64
	// Epoch is the spool epoch of the probe's current seq space ("" until
	// a probe that sends one writes); Epochs counts the seq spaces it
	// started after the first (spool lost, deleted or replaced).
	Epoch  string
	Epochs uint64
}

// Store keeps results. Implementations must be safe for concurrent use.
type Store interface {
	// Write stores a batch durably and returns only after it is committed.
	// A (probe, seq) that is already stored is skipped and counted as a
	// duplicate, never stored twice, however often and however concurrently
	// it arrives. A Write with a seq outside 1..wire.MaxSeq, or whose
	// FirstSeq passes its MaxGap, changes nothing and returns a *SeqError
	// or a *GapError (see CheckSeqs and CheckGap). A Write holding a
	// result at a settled seq of the current epoch that the store does
	// not hold as sent changes nothing and returns a *ConflictError: a
	// duplicate is the same result sent again, not another at its seq.
	Write(ctx context.Context, w Write) (WriteResult, error)
	// Probes returns the state of every probe that has written, by id.
	Probes(ctx context.Context) ([]ProbeState, error)
	// Scan calls fn for every result with from <= Time < to, in time
	// order. It stops at the first error fn returns and returns it.
	Scan(ctx context.Context, from, to time.Time, fn func(Record) error) error
	// Close releases the store; later calls return ErrClosed.
	Close() error
	RollupReader
	NameKeeper
}

// Names are check and e-service names a probe was let introduce beyond
// the catalogue (the collector's limits.max_unknown_names_per_probe).
type Names struct {
	Checks, Services []string
}

// NameKeeper keeps each probe's admitted names, so that a collector that
// restarts folds the same names into "other" as before it stopped: what
// a probe resends, or sends next, keeps the name it had.
type NameKeeper interface {
	// AdmitNames adds n to the names probe was let introduce, durably,
	// before the results that carry them are written. Admitting a name
	// again changes nothing.
	AdmitNames(ctx context.Context, probe string, n Names) error
	// AdmittedNames returns what AdmitNames added for probe, each name
	// once, in no particular order.
	AdmittedNames(ctx context.Context, probe string) (Names, error)
}

// RollupReader reads the rollups a Store keeps.
type RollupReader interface {
	// Rollups calls fn for every rollup row of resolution res (rollup.Minute
	// or rollup.Hour) with from <= bucket < to, in bucket order.
	Rollups(ctx context.Context, res time.Duration, from, to time.Time, fn func(bucket time.Time, c rollup.Cell, a *rollup.Agg) error) error
}
