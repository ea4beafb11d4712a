package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

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

// Rollups implements store.RollupReader.
func (s *Store) Rollups(ctx context.Context, res time.Duration, from, to time.Time, fn func(bucket time.Time, c rollup.Cell, a *rollup.Agg) error) error {
	end := timeKey(to)
	err := s.db.View(func(tx *bolt.Tx) error {
		b, err := rollupBucket(tx, res)
		if err != nil {
			return err
		}
		c := b.Cursor()
		n := 0
		for k, v := c.Seek(timeKey(from)); k != nil && bytes.Compare(k[:8], end) < 0; k, v = c.Next() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			cell, err := rollup.DecodeCell(k[8:])
			if err != nil {
				return fmt.Errorf("rollup key %x: %w", k, err)
			}
			a, err := rollup.DecodeAgg(v)
			if err != nil {
				return fmt.Errorf("rollup %x: %w", k, err)
			}
			if err := fn(time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC(), cell, a); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return wrap("rollups", err)
	}
	return err
}
