package probe

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrSpoolClosed is returned by a Spool used after Close.
var ErrSpoolClosed = errors.New("spool: closed")

var (
	bucketResults = []byte("results")
	bucketMeta    = []byte("meta")
	keyNextSeq    = []byte("next_seq")
)

// Spool keeps every result on disk until the collector has acknowledged
// it, so that a link that is down for a day loses nothing.
//
// It is a bbolt file, spool.db: bucket "results" maps the big-endian seq
// to the JSON Result, bucket "meta" holds the next seq. bbolt fsyncs every
// commit, so a result is on disk before Add returns, and its seq is
// persisted in the same transaction: seqs stay contiguous across crashes.
// A Spool is safe for concurrent use.
type Spool struct {
	db    *bolt.DB
	added chan struct{} // one pending wake-up for the uploader

	mu     sync.Mutex
	n      int    // results held
	last   uint64 // highest seq ever assigned
	closed bool
}

// OpenSpool opens (creating it if needed) the spool in dir. Only one
// process may hold a spool: a second open fails after about a second.
func OpenSpool(dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	path := filepath.Join(dir, "spool.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open spool %s: in use by another probe (lock timeout): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	s := &Spool{db: db, added: make(chan struct{}, 1)}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketResults)
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		s.n = b.Stats().KeyN
		if v := meta.Get(keyNextSeq); v != nil {
			s.last = binary.BigEndian.Uint64(v) - 1
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	return s, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Add assigns the next seqs to rs, stores them durably and returns the
// seqs. The caller's results are not modified.
func (s *Spool) Add(rs ...Result) ([]uint64, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrSpoolClosed
	}
	seqs := make([]uint64, len(rs))
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(bucketResults), tx.Bucket(bucketMeta)
		next := s.last + 1
		for i, r := range rs {
			r.Seq = next
			v, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("encode result of %s: %w", r.Check, err)
			}
			if err := b.Put(seqKey(next), v); err != nil {
				return err
			}
			seqs[i] = next
			next++
		}
		return meta.Put(keyNextSeq, seqKey(next))
	})
	if err != nil {
		return nil, fmt.Errorf("spool add: %w", err)
	}
	s.last += uint64(len(rs))
	s.n += len(rs)
	select {
	case s.added <- struct{}{}:
	default:
	}
	return seqs, nil
}

// Take returns the oldest max results, lowest seq first, without removing
// them.
func (s *Spool) Take(max int) ([]Result, error) {
	var rs []Result
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketResults).Cursor()
		for k, v := c.First(); k != nil && len(rs) < max; k, v = c.Next() {
			var r Result
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode seq %d: %w", binary.BigEndian.Uint64(k), err)
			}
			rs = append(rs, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spool take: %w", err)
	}
	return rs, nil
}

// Ack removes every result with seq <= upTo and the rejected ones: the
// collector holds them or will never want them.
func (s *Spool) Ack(upTo uint64, rejected []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSpoolClosed
	}
	removed := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketResults)
		c := b.Cursor()
		// Seek First again after each Delete: a bbolt cursor may skip a
		// key when deleting while iterating.
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= upTo; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			removed++
		}
		for _, seq := range rejected {
			if seq <= upTo || b.Get(seqKey(seq)) == nil {
				continue
			}
			if err := b.Delete(seqKey(seq)); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("spool ack: %w", err)
	}
	s.n -= removed
	return nil
}

// Len is the number of results held.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// FirstSeq is the lowest seq held, 0 if the spool is empty.
func (s *Spool) FirstSeq() uint64 {
	var first uint64
	s.view(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketResults).Cursor().First(); k != nil {
			first = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return first
}

// LastSeq is the highest seq ever assigned, 0 before the first Add.
func (s *Spool) LastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Close closes the file; a second Close is a no-op.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

// view runs a read transaction unless the spool is closed.
func (s *Spool) view(fn func(*bolt.Tx) error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrSpoolClosed
	}
	return s.db.View(fn)
}

// validate checks the spool's bounds.
func (c *SpoolConfig) validate() error {
	switch {
	case c.Dir == "":
		return errors.New("spool.dir is missing")
	case c.MaxBytes < 1<<20:
		return fmt.Errorf("spool.max_bytes (%d) must be at least 1 MiB", c.MaxBytes)
	case c.MaxAge < 0:
		return fmt.Errorf("spool.max_age (%s) must not be negative", c.MaxAge)
	}
	return nil
}
