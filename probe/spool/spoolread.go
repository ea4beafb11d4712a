package spool

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/jangkau/jangkau/wire"
	bolt "go.etcd.io/bbolt"
)

// The uploader's side of the spool: take a batch, acknowledge it.

// Take returns the oldest max results, lowest seq first, without removing
// them.
func (s *Spool) Take(max int) ([]wire.Result, error) {
	rs, _, err := s.TakeBatch(max, math.MaxInt)
	return rs, err
}

// TakeBatch returns the oldest results, at most max of them and, but for
// the first, at most maxBytes of JSON with one separator each. more
// reports that a bound stopped it with results left behind.
func (s *Spool) TakeBatch(max, maxBytes int) (rs []wire.Result, more bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketResults).Cursor()
		size := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			size += len(v) + 1
			if len(rs) == max || (len(rs) > 0 && size > maxBytes) {
				more = true
				return nil
			}
			var r wire.Result
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode seq %d: %w", binary.BigEndian.Uint64(k), err)
			}
			rs = append(rs, r)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("spool take: %w", err)
	}
	return rs, more, nil
}

// Ack removes every result with seq <= upTo and the rejected ones: the
// collector holds them or will never want them.
func (s *Spool) Ack(upTo uint64, rejected []uint64) error {
	_, err := s.AckCount(upTo, rejected)
	return err
}

// AckCount is Ack that also says how many results it removed.
func (s *Spool) AckCount(upTo uint64, rejected []uint64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	st := s.st
	var unspooled uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if unspooled, err = s.unspooled.save(tx.Bucket(bucketMeta)); err != nil {
			return err
		}
		b := tx.Bucket(bucketResults)
		c := b.Cursor()
		// Seek First again after each Delete: a bbolt cursor may skip a
		// key when deleting while iterating.
		for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k) <= upTo; k, v = c.First() {
			st.n, st.bytes = st.n-1, st.bytes-entryBytes(v)
			if err := c.Delete(); err != nil {
				return err
			}
		}
		for _, seq := range rejected {
			v := b.Get(seqKey(seq))
			if seq <= upTo || v == nil {
				continue
			}
			st.n, st.bytes = st.n-1, st.bytes-entryBytes(v)
			if err := b.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		st.oldest, err = frontTime(b)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("spool ack: %w", err)
	}
	s.unspooled.committed(unspooled)
	removed := s.st.n - st.n
	s.st = st
	return removed, nil
}
