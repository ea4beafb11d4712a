package spool

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/wire"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrClosed is returned by a Spool used after Close.
var ErrClosed = errors.New("spool: closed")

var (
	bucketResults = []byte("results")
	bucketMeta    = []byte("meta")
	keyNextSeq    = []byte("next_seq")
)

// Spool keeps every result on disk until the collector has acknowledged
// it, so that a link that is down for a day loses nothing.
//
// It is a bbolt file, spool.db: bucket "results" maps the big-endian seq
// to the JSON Result, bucket "meta" holds the next seq. A result's seq is
// assigned in the transaction that stores it, so seqs start at 1, stay
// contiguous across crashes and restarts, and are never reused.
//
// Fsync policy: every commit is fsynced by bbolt before Add returns, and a
// result counts as done (it has a seq, Len and the uploader see it) only
// once the commit holding it returned. Offer hands a result to one writer
// goroutine that commits everything queued in one transaction (group
// commit), so checks never wait for the disk. With GroupDelay (the
// probe sets it) the writer lets a group gather after its first result,
// so that a probe checking 100 targets a second commits (and fsyncs) a
// few times a second instead of 100 times. A crash can lose what sits in
// that queue (at most DefaultQueue results, normally the results of
// the last group delay), and shutdown commits it at once through Sync.
//
// The spool is bounded by MaxBytes and MaxAge (see spoollimit.go): the
// oldest results go first, counted by reason. A Spool is safe for
// concurrent use.
type Spool struct {
	db    *bolt.DB
	known *boltfile.Known // the last commit seen: a truncated or rolled-back file is refused
	opt   spoolOptions
	added chan struct{} // one pending wake-up for the uploader

	// The writer goroutine's channels and the drop counters: spoolqueue.go.
	queue   chan *wire.Result // pointers: an idle queue of 4096 costs 32 KiB, not 0.7 MiB
	syncReq chan chan struct{}
	// groupFull tells a gathering writer that a full group is queued.
	groupFull chan struct{}
	stop      chan struct{}
	stopOnce  sync.Once
	stopped   chan struct{}
	dropped   [numDropReasons]atomic.Uint64
	lost      atomic.Uint64 // results the writer failed to store
	epoch     string        // the spool's identity, epoch.go
	unspooled unspooled     // what never got a seq, epoch.go

	mu     sync.Mutex
	st     spoolState
	last   uint64 // highest seq ever assigned
	closed bool
}

// spoolState is what the spool knows of its content without reading it.
// A transaction works on a copy that replaces it after the commit.
type spoolState struct {
	n      int       // results held
	bytes  int64     // their size by the size rule, see entryBytes
	oldest time.Time // Time of the lowest seq held; zero when empty
}

// Open opens (creating it if needed) the spool in dir and starts its
// writer; Close stops it. Only one process may hold a spool: a second
// open fails after about a second. Without options the spool is
// unbounded, commits each result as soon as the last commit is done and
// logs to slog.Default.
func Open(dir string, opts ...Option) (*Spool, error) {
	o := spoolOptions{queueLen: DefaultQueue, log: slog.Default(), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, known, err := boltfile.Open(path, boltfile.Options{Bolt: &bolt.Options{Timeout: time.Second}, Mode: 0o600, Recovery: RecoveryCommand(dir), Log: o.log})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open spool %s: in use by another probe (lock timeout): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	s := &Spool{db: db, known: known, opt: o, added: make(chan struct{}, 1)}
	var d drops
	err = boltfile.GuardedUpdate(db, path, RecoveryCommand(dir))(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketResults)
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyNextSeq); v != nil {
			s.last = binary.BigEndian.Uint64(v) - 1
		}
		if s.epoch, err = loadEpoch(meta); err != nil {
			return err
		}
		if err := s.unspooled.load(meta); err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			s.st.n++
			s.st.bytes += entryBytes(v)
		}
		if s.st.oldest, err = frontTime(b); err != nil {
			return err
		}
		// A probe that was off longer than max_age comes back bounded.
		return s.trim(b, &s.st, &d)
	})
	if err != nil {
		known.Close(nil)
		db.Close()
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	s.noteDrops(&d)
	s.startWriter()
	return s, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Add assigns the next seqs to rs, stores them durably (fsynced) in one
// transaction, then drops the oldest results if a bound is exceeded. It
// returns the seqs; the caller's results are not modified. Checks use
// Offer instead, which never waits.
func (s *Spool) Add(rs ...wire.Result) ([]uint64, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	seqs := make([]uint64, len(rs))
	st := s.st
	var d drops
	var unspooled uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(bucketResults), tx.Bucket(bucketMeta)
		// Keys only ever grow: pack pages full instead of half, so that
		// the file stays close to the live size.
		b.FillPercent = 1
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
			if st.n == 0 {
				st.oldest = r.Time
			}
			st.n++
			st.bytes += entryBytes(v)
			seqs[i] = next
			next++
		}
		if err := meta.Put(keyNextSeq, seqKey(next)); err != nil {
			return err
		}
		var err error
		if unspooled, err = s.unspooled.save(meta); err != nil {
			return err
		}
		return s.trim(b, &st, &d)
	})
	if err != nil {
		return nil, fmt.Errorf("spool add: %w", err)
	}
	s.unspooled.committed(unspooled)
	s.last += uint64(len(rs))
	s.st = st
	s.noteDrops(&d)
	select {
	case s.added <- struct{}{}:
	default:
	}
	return seqs, nil
}

// Len is the number of results held.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.n
}

// Bytes is the size of the results held by the size rule (entryBytes).
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.bytes
}

// OldestTime is the Time of the lowest seq held; zero when empty.
func (s *Spool) OldestTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.oldest
}

// OldestAge is how many seconds ago, by the spool's clock, the oldest
// result held was taken; 0 when none is held.
func (s *Spool) OldestAge() float64 {
	return oldestAge(s.OldestTime(), s.opt.now())
}

// oldestAge is how long ago oldest was, 0 for the zero time.
func oldestAge(oldest, now time.Time) float64 {
	if oldest.IsZero() {
		return 0
	}
	return max(now.Sub(oldest).Seconds(), 0)
}

// Added wakes the uploader: it holds one pending signal after an Add
// commits, however many commits came since it was last read.
func (s *Spool) Added() <-chan struct{} { return s.added }

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

// Close commits what is queued, stops the writer and closes the file; a
// second Close is a no-op.
func (s *Spool) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.saveUnspooled(); err != nil {
		s.opt.log.Error("results dropped unspooled may go unreported", "err", err)
	}
	return boltfile.CloseClean(s.db, s.known) // the next Open skips the page walk
}

// view runs a read transaction unless the spool is closed.
func (s *Spool) view(fn func(*bolt.Tx) error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return s.db.View(fn)
}
