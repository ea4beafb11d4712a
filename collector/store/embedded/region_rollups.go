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
)

// Region rows (rollup.RegionAgg) live in one bucket per resolution, keyed
// by the bucket's start (unix nanoseconds, big-endian) and the region
// code, beside the cell rows and written in the same transaction from the
// same stored results: a row counts exactly what the cell rows of its
// region and bucket count, duplicates and late results included.
//
// A store written before region rows had them has none for its older
// buckets: bucket "region-meta" holds, under "since", the first bucket
// start (unix nanoseconds) from which every bucket has its region rows.
// A store made with them says 0; an older one, at its first open with
// this code, the hour after the next or after the newest hour with cell
// rows (results ahead of the clock), whichever is later. Writes never add
// region rows before it, so a bucket has all of its region rows or none.
var (
	bucketRegionMinute = []byte("region-1m")
	bucketRegionHour   = []byte("region-1h")
	bucketRegionMeta   = []byte("region-meta")
	keyRegionSince     = []byte("since")
)

// initRegionRows creates the region buckets and records since.
func initRegionRows(tx *bolt.Tx, now time.Time) error {
	if tx.Bucket(bucketRegionMeta) != nil {
		return nil
	}
	since := int64(0)
	if k, _ := tx.Bucket(bucketResults).Cursor().First(); k != nil {
		since = now.Truncate(time.Hour).Add(2 * time.Hour).UnixNano()
		// Past the newest hour with cell rows, whatever clock.max_ahead
		// let in.
		if k, _ := tx.Bucket(bucketHour).Cursor().Last(); len(k) >= 8 {
			since = max(since, int64(binary.BigEndian.Uint64(k[:8]))+int64(time.Hour))
		}
	}
	meta, err := tx.CreateBucket(bucketRegionMeta)
	if err != nil {
		return err
	}
	for _, b := range [][]byte{bucketRegionMinute, bucketRegionHour} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return meta.Put(keyRegionSince, binary.BigEndian.AppendUint64(nil, uint64(since)))
}

func regionSince(tx *bolt.Tx) int64 {
	v := tx.Bucket(bucketRegionMeta).Get(keyRegionSince)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func regionBucket(tx *bolt.Tx, res time.Duration) (*bolt.Bucket, error) {
	switch res {
	case rollup.Minute:
		return tx.Bucket(bucketRegionMinute), nil
	case rollup.Hour:
		return tx.Bucket(bucketRegionHour), nil
	}
	return nil, fmt.Errorf("no region rollups at resolution %s", res)
}

// mergeRegionRollups adds a batch's region delta to the stored rows,
// inside the transaction that stores the results.
func mergeRegionRollups(tx *bolt.Tx, d rollup.RegionDelta) error {
	if len(d) == 0 {
		return nil
	}
	since := regionSince(tx)
	var key []byte
	for k, a := range d {
		if k.Bucket < since {
			continue
		}
		b, err := regionBucket(tx, k.Res)
		if err != nil {
			return err
		}
		key = append(binary.BigEndian.AppendUint64(key[:0], uint64(k.Bucket)), k.Region...)
		if old := b.Get(key); old != nil {
			// old lives in the memory map until the transaction ends; the
			// merge copies what it keeps (Clone) before the Put below.
			prev, err := rollup.DecodeRegionAgg(old)
			if err != nil {
				return fmt.Errorf("region rollup %x: %w", key, err)
			}
			if err := a.Merge(prev); err != nil {
				return err
			}
		}
		if err := b.Put(append([]byte(nil), key...), a.AppendBinary(nil)); err != nil {
			return err
		}
	}
	return nil
}

// RegionRollupsSince is the first bucket start from which every bucket
// has its region rows (see bucketRegionMeta).
func (s *Store) RegionRollupsSince() (time.Time, error) {
	var since int64
	err := s.db.View(func(tx *bolt.Tx) error {
		since = regionSince(tx)
		return nil
	})
	if err != nil {
		return time.Time{}, wrap("region rollups", err)
	}
	return time.Unix(0, since).UTC(), nil
}

// RegionRollups calls fn for every region row of resolution res with
// from <= bucket < to. The aggregates' sketches stay encoded in copies
// of the stored values (rollup.DecodeRegionAgg).
func (s *Store) RegionRollups(ctx context.Context, res time.Duration, from, to time.Time, fn func(bucket time.Time, region string, a *rollup.RegionAgg) error) error {
	end := timeKey(to)
	err := s.db.View(func(tx *bolt.Tx) error {
		b, err := regionBucket(tx, res)
		if err != nil {
			return err
		}
		c := b.Cursor()
		var slab []byte
		n := 0
		for k, v := c.Seek(timeKey(from)); k != nil && bytes.Compare(k[:8], end) < 0; k, v = c.Next() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if len(slab)+len(v) > cap(slab) {
				slab = make([]byte, 0, max(slabSize, len(v)))
			}
			slab = append(slab, v...)
			a, err := rollup.DecodeRegionAgg(slab[len(slab)-len(v) : len(slab) : len(slab)])
			if err != nil {
				return fmt.Errorf("region rollup %x: %w", k, err)
			}
			if err := fn(time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC(), string(k[8:]), a); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return wrap("region rollups", err)
	}
	return err
}
