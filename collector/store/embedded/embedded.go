// Package embedded is the default Store: a bbolt file in the data
// directory, no server needed.
//
// Layout: bucket "results" holds every result under a time-ordered key
// (unix nanos, probe id, seq) so a window is one cursor range, its value in
// the compact encoding of codec.go; bucket
// "probes" holds each probe's ProbeState; bucket "pending/<probe>" holds the
// seqs above the probe's acknowledged seq that are already settled (stored
// or rejected), which is what deduplication and the contiguous
// acknowledgement need. Seqs at or below the acknowledgement are duplicates
// by definition, so "pending" stays as small as the out-of-order window.
// Bucket "names/<probe>" holds the names the probe was let introduce
// (names.go).
//
// One bbolt file has one writer process: a second collector cannot open
// the same data directory (the file is locked). Several collectors behind
// a load balancer, all storing each (probe, seq) once, are the InfluxDB
// store's job, not this one's.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/wire"
)

var (
	bucketResults = []byte("results")
	bucketProbes  = []byte("probes")
	bucketPending = []byte("pending")
)

// Store is the embedded implementation of store.Store.
type Store struct {
	db          *bolt.DB
	known       *boltfile.Known // the last commit seen, see boltfile
	opts        options
	stopPruning func() // nil without retention
	gen         atomic.Uint64
	stamps      *stamps
}

// Option changes how Open opens a store.
type Option func(*options)

type options struct {
	noSync    bool
	retention *Retention
}

// NoSync turns off the fsync of every commit, for bulk loads of data that
// can be rebuilt (benchmarks, tests): a crash may lose or corrupt what was
// written since the last Close, which syncs. Never for a collector.
func NoSync() Option { return func(o *options) { o.noSync = true } }

var _ store.Store = (*Store)(nil)

// permissionHint is what to do when the data dir may not be written.
func permissionHint(err error) string {
	if !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	return fmt.Sprintf(": the collector runs as uid %d, which may not write there; give it the directory (chown) or choose another data_dir or --data", os.Getuid())
}

// Open opens (creating if needed) the store in dir. bbolt fsyncs every
// commit, so a Write that returned is on disk.
func Open(dir string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w%s", dir, err, permissionHint(err))
	}
	path := filepath.Join(dir, FileName)
	// The freelist is not written on each commit (fewer pages to fsync).
	// After a crash, Open rebuilds it by scanning the file, as etcd does;
	// after a clean Close, bbolt reads the one Close wrote. boltfile
	// refuses a file that lost commits or has a corrupted page, naming
	// the file and the salvage command (recovery.go).
	db, known, err := boltfile.Open(path, boltfile.Options{
		Bolt: &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
		Mode: 0o640, Recovery: RecoveryCommand(dir),
		Init: func(db *bolt.DB) error {
			return db.Update(func(tx *bolt.Tx) error {
				for _, b := range [][]byte{bucketResults, bucketProbes, bucketPending, bucketMinute, bucketHour} {
					if _, err := tx.CreateBucketIfNotExists(b); err != nil {
						return err
					}
				}
				return initRegionRows(tx, time.Now())
			})
		},
	})
	if corrupt := (*boltfile.CorruptError)(nil); errors.As(err, &corrupt) {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: %w: another collector holds it; stop that one or give this one another data_dir", path, err)
		}
		return nil, fmt.Errorf("open store %s: %w%s", path, err, permissionHint(err))
	}
	db.NoSync = o.noSync
	s := &Store{db: db, known: known, opts: o, stamps: newStamps()}
	if o.retention != nil {
		s.startPruning(o.retention)
	}
	return s, nil
}

// Close closes the database file.
func (s *Store) Close() error {
	if s.stopPruning != nil {
		s.stopPruning()
	}
	// One last commit writes the freelist and the sidecar records the
	// clean close, so that the next Open reads the freelist instead of
	// rebuilding it and skips the page walk (boltfile.CloseClean). It
	// syncs a NoSync store.
	if err := boltfile.CloseClean(s.db, s.known); err != nil && !errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

type probeRecord struct {
	LastSeen      time.Time `json:"last_seen"`
	LastSeq       uint64    `json:"last_seq"`
	AckedSeq      uint64    `json:"acked_seq"`
	ResultsStored uint64    `json:"results_stored"`
	Lost          uint64    `json:"lost"`
	// Epochs: the probe's spool epoch, former epochs and unspooled
	// report (epoch.go). Absent in stores written before epochs.
	Epochs store.EpochState `json:"epochs,omitzero"`
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func timeKey(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
}

func resultKey(t time.Time, probeID string, seq uint64) []byte {
	k := make([]byte, 0, 8+len(probeID)+1+8)
	k = append(k, timeKey(t)...)
	k = append(k, probeID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// Write implements store.Store. It runs through bbolt's Batch: concurrent
// writers (several probes uploading at once) share one commit and its
// fsyncs, which is what bounds the write rate. Batch may run the function
// more than once (when another function of the same batch fails, the rest
// are run again one by one), so it derives everything from the
// transaction and keeps nothing from an earlier run.
func (s *Store) Write(ctx context.Context, w store.Write) (store.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return store.WriteResult{}, err
	}
	if err := store.CheckSeqs(&w); err != nil {
		return store.WriteResult{}, err
	}
	// Results older than the raw retention may have been pruned: a resent
	// one is not judged against what the store holds (see writeTx).
	var judgeFrom time.Time
	if r := s.opts.retention; r != nil && r.Raw > 0 {
		judgeFrom = w.Received.Add(-r.Raw)
	}
	var res store.WriteResult
	err := s.db.Batch(func(tx *bolt.Tx) error {
		var err error
		res, err = writeTx(tx, w, judgeFrom)
		return err
	})
	if err != nil {
		return store.WriteResult{}, wrap(fmt.Sprintf("write %d results of probe %s", len(w.Results), w.Probe), err)
	}
	if !s.opts.noSync {
		// Only once the commit is on disk: the sidecar never claims more
		// than the file holds. Without fsync, Close notes it after Sync.
		// A failed note only leaves the sidecar behind, which is safe.
		_ = s.known.Note(s.db)
	}
	if res.Stored > 0 {
		// After the commit: a reader that saw the old stamp may have read
		// the new rows, never the other way round.
		s.stamps.wrote(s.gen.Add(1), w.Results)
	}
	return res, nil
}

// writeTx is one Write inside a transaction. A result at a seq already
// settled is a duplicate when the store holds it as sent (same key: time,
// probe, seq; same kind and target), and a conflict otherwise, which fails
// the Write with a *store.ConflictError; results older than judgeFrom are
// not judged (retention may have pruned them).
func writeTx(tx *bolt.Tx, w store.Write, judgeFrom time.Time) (store.WriteResult, error) {
	var res store.WriteResult
	probes := tx.Bucket(bucketProbes)
	var rec probeRecord
	if v := probes.Get([]byte(w.Probe)); v != nil {
		if err := json.Unmarshal(v, &rec); err != nil {
			return res, fmt.Errorf("probe %s state: %w", w.Probe, err)
		}
	}
	pending, err := tx.Bucket(bucketPending).CreateBucketIfNotExists([]byte(w.Probe))
	if err != nil {
		return res, err
	}
	if pending, err = nextEpoch(tx, pending, &rec, &w, &res); err != nil {
		return res, err
	}
	if err := store.CheckGap(&w, rec.AckedSeq); err != nil {
		return res, err
	}
	hadPending := first(pending) != nil
	results := tx.Bucket(bucketResults)
	// Keys arrive mostly in time order: fuller pages halve the file
	// against bbolt's default split at 50%.
	results.FillPercent = 0.9
	settled := make(map[uint64]bool, len(w.Results)+len(w.Rejected)) // seqs settled by this write
	delta := rollup.Delta{}
	regions := rollup.RegionDelta{}
	withCells := len(w.Cells) == len(w.Results)
	var val []byte
	var conflicts store.Conflicts
	for i := range w.Results {
		r := &w.Results[i]
		if settled[r.Seq] {
			res.Duplicates++
			continue
		}
		if r.Seq <= rec.AckedSeq || (hadPending && pending.Get(seqKey(r.Seq)) != nil) {
			if !r.Time.Before(judgeFrom) && !holds(results, w.Probe, r) {
				conflicts.Add(&w, r.Seq)
			}
			res.Duplicates++
			continue
		}
		val = appendResult(val[:0], r)
		// Put keeps the slice until the commit: give it its own copy.
		if err := results.Put(resultKey(r.Time, w.Probe, r.Seq), append([]byte(nil), val...)); err != nil {
			return res, err
		}
		settled[r.Seq] = true
		if withCells {
			delta.Add(w.Cells[i], r)
			regions.Add(w.Cells[i], r)
		}
		res.Stored++
		rec.ResultsStored++
		rec.LastSeq = max(rec.LastSeq, r.Seq)
	}
	if err := conflicts.Err(); err != nil {
		return res, err // the transaction is rolled back: nothing stored
	}
	for _, seq := range w.Rejected {
		if seq > rec.AckedSeq && !settled[seq] && (!hadPending || pending.Get(seqKey(seq)) == nil) {
			settled[seq] = true
		}
	}
	if !hadPending && w.FirstSeq <= rec.AckedSeq+1 {
		// The usual case, a batch in order: advance in memory and keep
		// only what stays above the acknowledgement.
		for settled[rec.AckedSeq+1] {
			delete(settled, rec.AckedSeq+1)
			rec.AckedSeq++
		}
		for seq := range settled {
			if err := pending.Put(seqKey(seq), []byte{1}); err != nil {
				return res, err
			}
		}
	} else {
		for seq := range settled {
			if err := pending.Put(seqKey(seq), []byte{1}); err != nil {
				return res, err
			}
		}
		if w.FirstSeq > rec.AckedSeq+1 {
			lost, err := settleBelow(pending, rec.AckedSeq, w.FirstSeq)
			if err != nil {
				return res, err
			}
			rec.Lost += lost
			rec.AckedSeq = w.FirstSeq - 1
		}
		if rec.AckedSeq, err = advance(pending, rec.AckedSeq); err != nil {
			return res, err
		}
	}
	if err := mergeRollups(tx, delta); err != nil {
		return res, err
	}
	if err := mergeRegionRollups(tx, regions); err != nil {
		return res, err
	}
	if res.Stored > 0 {
		rec.LastSeen = w.Received
	}
	res.AckedSeq = rec.AckedSeq
	v, err := json.Marshal(&rec)
	if err != nil {
		return res, err
	}
	return res, probes.Put([]byte(w.Probe), v)
}

// holds says whether results has r of probe as it was sent.
func holds(results *bolt.Bucket, probe string, r *wire.Result) bool {
	v := results.Get(resultKey(r.Time, probe, r.Seq))
	var held wire.Result
	return v != nil && decodeResult(v, &held) == nil && store.SameResult(&held, r)
}

func first(b *bolt.Bucket) []byte {
	k, _ := b.Cursor().First()
	return k
}

// settleBelow removes the pending seqs in (acked, first) and returns how
// many seqs of that range were never settled: the probe dropped them.
func settleBelow(pending *bolt.Bucket, acked, first uint64) (uint64, error) {
	var have uint64
	c := pending.Cursor()
	for k, _ := c.Seek(seqKey(acked + 1)); k != nil && binary.BigEndian.Uint64(k) < first; k, _ = c.Next() {
		have++
		if err := c.Delete(); err != nil {
			return 0, err
		}
	}
	return first - 1 - acked - have, nil
}

// advance moves the acknowledgement over every contiguous settled seq and
// forgets them: from now on they are duplicates by their number alone.
func advance(pending *bolt.Bucket, acked uint64) (uint64, error) {
	c := pending.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		seq := binary.BigEndian.Uint64(k)
		if seq > acked+1 {
			break
		}
		acked = max(acked, seq)
		if err := c.Delete(); err != nil {
			return 0, err
		}
	}
	return acked, nil
}

// Probes implements store.Store.
func (s *Store) Probes(ctx context.Context) ([]store.ProbeState, error) {
	var out []store.ProbeState
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketProbes).ForEach(func(k, v []byte) error {
			var rec probeRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("probe %s state: %w", k, err)
			}
			out = append(out, store.ProbeState{
				ID: string(k), LastSeen: rec.LastSeen, LastSeq: rec.LastSeq,
				AckedSeq: rec.AckedSeq, ResultsStored: rec.ResultsStored, Lost: rec.Lost,
				Dropped: rec.Epochs.Dropped, Epoch: rec.Epochs.Epoch, Epochs: rec.Epochs.Epochs,
			})
			return nil
		})
	})
	if err != nil {
		return nil, wrap("read probes", err)
	}
	return out, nil
}

// Scan implements store.Store.
func (s *Store) Scan(ctx context.Context, from, to time.Time, fn func(store.Record) error) error {
	end := timeKey(to)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketResults).Cursor()
		n := 0
		for k, v := c.Seek(timeKey(from)); k != nil && bytes.Compare(k[:8], end) < 0; k, v = c.Next() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			rec := store.Record{Probe: string(k[8 : len(k)-9])}
			if err := decodeResult(v, &rec.Result); err != nil {
				return fmt.Errorf("decode result %x: %w", k, err)
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return wrap("scan", err)
	}
	return err
}

// wrap names the operation and maps bbolt's closed error onto the store's.
func wrap(op string, err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("%s: %w", op, err)
}
