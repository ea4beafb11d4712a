package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
)

// Rollup rows live in one bucket per resolution, keyed by the bucket's
// start (unix nanoseconds, big-endian) and the cell, so that a window is
// one cursor range.
var (
	bucketMinute = []byte("rollup-1m")
	bucketHour   = []byte("rollup-1h")
)

var _ store.RollupReader = (*Store)(nil)

func rollupBucket(tx *bolt.Tx, res time.Duration) (*bolt.Bucket, error) {
	switch res {
	case rollup.Minute:
		return tx.Bucket(bucketMinute), nil
	case rollup.Hour:
		return tx.Bucket(bucketHour), nil
	}
	return nil, fmt.Errorf("no rollups at resolution %s", res)
}

// mergeRollups adds a batch's delta to the stored rows, inside the
// transaction that stores the results, so that a row counts exactly the
// results that are stored.
func mergeRollups(tx *bolt.Tx, d rollup.Delta) error {
	var key []byte
	for k, a := range d {
		b, err := rollupBucket(tx, k.Res)
		if err != nil {
			return err
		}
		key = k.Cell.AppendKey(timeKey(time.Unix(0, k.Bucket))[:8:8])
		if old := b.Get(key); old != nil {
			prev, err := rollup.DecodeAgg(old)
			if err != nil {
				return fmt.Errorf("rollup %x: %w", key, err)
			}
			if err := a.Merge(prev); err != nil {
				return err
			}
		}
		if err := b.Put(key, a.AppendBinary(nil)); err != nil {
			return err
		}
	}
	return nil
}

// Rollups implements store.RollupReader. The aggregates it hands out are
// lazy (rollup.DecodeAggLazy): a consumer that merges them, as coverage
// does, decodes each sketch straight into its own. They and their
// encodings are allocated in slabs rather than one allocation each, and
// each distinct cell key is decoded once per call.
func (s *Store) Rollups(ctx context.Context, res time.Duration, from, to time.Time, fn func(bucket time.Time, c rollup.Cell, a *rollup.Agg) error) error {
	end := timeKey(to)
	err := s.db.View(func(tx *bolt.Tx) error {
		b, err := rollupBucket(tx, res)
		if err != nil {
			return err
		}
		c := b.Cursor()
		cells := map[string]rollup.Cell{}
		var slab []byte
		var aggs []rollup.Agg
		n := 0
		for k, v := c.Seek(timeKey(from)); k != nil && bytes.Compare(k[:8], end) < 0; k, v = c.Next() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			cell, ok := cells[string(k[8:])]
			if !ok {
				if cell, err = rollup.DecodeCell(k[8:]); err != nil {
					return fmt.Errorf("rollup key %x: %w", k, err)
				}
				cells[string(k[8:])] = cell
			}
			// v lives in the file's memory map only until the transaction
			// ends: copy it, into a slab that is never appended in place
			// of what was handed out.
			if len(slab)+len(v) > cap(slab) {
				slab = make([]byte, 0, max(slabSize, len(v)))
			}
			slab = append(slab, v...)
			if len(aggs) == cap(aggs) {
				aggs = make([]rollup.Agg, 0, aggSlab)
			}
			aggs = aggs[:len(aggs)+1]
			a := &aggs[len(aggs)-1]
			if err := rollup.DecodeAggLazyInto(a, slab[len(slab)-len(v):len(slab):len(slab)]); err != nil {
				return fmt.Errorf("rollup %x: %w", k, err)
			}
			if err := fn(time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC(), cell, a); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return wrap("rollups", err)
	}
	return err
}

// slabSize is the size of the slabs Rollups copies encodings into: large
// enough to make allocations rare, small enough that a consumer keeping a
// few rows does not pin much.
const slabSize = 64 << 10

// aggSlab is how many aggregates Rollups allocates at once.
const aggSlab = 512

// Generation changes after every Write that stored a result and every
// pruning that deleted something; RollupGeneration draws its stamps from
// the same counter.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// RollupSize returns the rows of a resolution and the bytes of the pages
// they fill, for sizing retention.
func (s *Store) RollupSize(res time.Duration) (rows int, bytes int64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b, err := rollupBucket(tx, res)
		if err != nil {
			return err
		}
		st := b.Stats()
		rows, bytes = st.KeyN, int64(st.LeafAlloc+st.BranchAlloc)
		return nil
	})
	return rows, bytes, err
}
