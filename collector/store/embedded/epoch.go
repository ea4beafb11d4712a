package embedded

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"github.com/jangkau/jangkau/collector/store"
)

// nextEpoch applies w's spool epoch and unspooled report to rec (see
// store.NextEpoch). A new epoch settles the old seq space: every seq up
// to the highest the store saw of it (stored or rejected) that is neither
// acknowledged nor settled is lost; its pending seqs go, and the probe
// starts again at acked 0. It returns the probe's pending bucket, a new
// one after a new epoch.
func nextEpoch(tx *bolt.Tx, pending *bolt.Bucket, rec *probeRecord, w *store.Write, res *store.WriteResult) (*bolt.Bucket, error) {
	next, err := store.NextEpoch(&rec.Epochs, w)
	if err != nil {
		return nil, err
	}
	if next {
		high, have := rec.LastSeq, uint64(0)
		c := pending.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			high = max(high, binary.BigEndian.Uint64(k))
			have++
		}
		if high > rec.AckedSeq {
			res.EpochLost = high - rec.AckedSeq - have
		}
		rec.Lost += res.EpochLost
		rec.AckedSeq, rec.LastSeq = 0, 0
		res.NewEpoch = true
		parent := tx.Bucket(bucketPending)
		if err := parent.DeleteBucket([]byte(w.Probe)); err != nil {
			return nil, err
		}
		if pending, err = parent.CreateBucket([]byte(w.Probe)); err != nil {
			return nil, err
		}
	}
	res.Unspooled = store.CountUnspooled(&rec.Epochs, w)
	rec.Lost += res.Unspooled
	return pending, nil
}
