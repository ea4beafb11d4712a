package spool

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// entryOverhead is what bbolt spends on a result besides its JSON: the
// 8-byte seq key and the 16-byte leaf element header.
const entryOverhead = 24

// entryBytes is the size rule of spool.max_bytes: a result costs its JSON
// plus entryOverhead. The bbolt file never shrinks (freed pages are reused,
// not returned), so its size says nothing about what is held; the sum of
// what is held does. Pages are packed full (results are appended in seq
// order), so the file settles near max_bytes plus branch pages, page tails
// and the freelist (TestSpoolSizeBoundDropsOldestExactly logs the ratio),
// and bbolt grows the file past that in steps of up to 16 MiB.
func entryBytes(v []byte) int64 { return int64(len(v)) + entryOverhead }

// DefaultQueue is how many results may wait for the spool's writer;
// past it Offer drops (reason queue_full). At 100 checks/s it covers a
// disk stalled for 40 s.
const DefaultQueue = 4096

// Option tunes Open.
type Option func(*spoolOptions)

type spoolOptions struct {
	maxBytes int64         // 0: unbounded
	maxAge   time.Duration // 0: no age limit
	queueLen int
	// groupDelay is how long the writer waits, after a first result, for
	// more before it commits them together (0: commit at once).
	groupDelay time.Duration
	log        *slog.Logger
	now        func() time.Time // the clock of the age bound
	// beforeCommit runs in the writer before each group commit: a seam
	// for tests to play a slow disk.
	beforeCommit func()
}

// Limits bounds the spool by c.MaxBytes and c.MaxAge (0: none).
func Limits(c Config) Option {
	return func(o *spoolOptions) { o.maxBytes, o.maxAge = c.MaxBytes, c.MaxAge }
}

// DefaultGroupDelay is spool.sync_interval's default: how long a probe's
// result may wait in the spool's queue for others to share its commit (a
// fifth of upload.interval when that is shorter, so that gathering never
// holds an upload back); Sync and Close do not wait for it. It bounds
// what a hard crash or power cut can lose: the measurements of the last
// second, never a seq (seqs are given at commit, so no gap follows).
// Commits (two fdatasyncs each, and the wake-ups around them) are the
// largest part of a cheap check's cost, hence a whole second
// (docs/benchmarks.md).
const DefaultGroupDelay = time.Second

// maxSyncInterval bounds spool.sync_interval: a longer wait would put
// more at risk than a district's power supply warrants.
const maxSyncInterval = 10 * time.Second

// GroupDelay sets how long the writer gathers a group before it
// commits (0: each commit takes what is queued at once, the lowest
// latency and the most fsyncs).
func GroupDelay(d time.Duration) Option {
	return func(o *spoolOptions) { o.groupDelay = max(d, 0) }
}

// QueueLen sets how many results may wait for the writer before Offer
// drops (default DefaultQueue).
func QueueLen(n int) Option {
	return func(o *spoolOptions) { o.queueLen = n }
}

// BeforeCommit runs fn in the writer before each group commit: a seam for
// tests that play a slow disk.
func BeforeCommit(fn func()) Option {
	return func(o *spoolOptions) { o.beforeCommit = fn }
}

// Logger is where the spool says what it dropped and why.
func Logger(log *slog.Logger) Option {
	return func(o *spoolOptions) { o.log = log }
}

// Reasons a result left the spool (or never entered it) unsent, the
// values of jangkau_probe_spool_dropped_total's reason label.
const (
	dropSize = iota
	dropAge
	dropQueueFull
	numDropReasons
)

var dropReasons = [numDropReasons]string{"size", "age", "queue_full"}

// drops records what one transaction trimmed, per reason: how many and
// the seq range (trimming takes from the front, so ranges are contiguous).
type drops struct {
	n           [dropQueueFull]int
	first, last [dropQueueFull]uint64
}

func (d *drops) add(reason int, seq uint64) {
	if d.n[reason] == 0 {
		d.first[reason] = seq
	}
	d.n[reason]++
	d.last[reason] = seq
}

// trim drops the oldest results while the front is older than max_age or
// the spool holds more than max_bytes. Age goes by each result's Time, in
// seq order: a result started before an older one finished is still
// dropped after it.
func (s *Spool) trim(b *bolt.Bucket, st *spoolState, d *drops) error {
	var cutoff time.Time
	if s.opt.maxAge > 0 {
		cutoff = s.opt.now().Add(-s.opt.maxAge)
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		reason := -1
		switch {
		case s.opt.maxAge > 0 && st.oldest.Before(cutoff):
			reason = dropAge
		case s.opt.maxBytes > 0 && st.bytes > s.opt.maxBytes:
			reason = dropSize
		}
		if reason < 0 {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
		d.add(reason, binary.BigEndian.Uint64(k))
		st.n, st.bytes = st.n-1, st.bytes-entryBytes(v)
		var err error
		if st.oldest, err = frontTime(b); err != nil {
			return err
		}
	}
	return nil
}

// frontTime is the Time of the lowest seq in b; zero when b is empty.
func frontTime(b *bolt.Bucket) (time.Time, error) {
	k, v := b.Cursor().First()
	if k == nil {
		return time.Time{}, nil
	}
	var r struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return time.Time{}, fmt.Errorf("decode seq %d: %w", binary.BigEndian.Uint64(k), err)
	}
	return r.Time, nil
}

// noteDrops counts and logs what a committed transaction trimmed.
func (s *Spool) noteDrops(d *drops) {
	for reason, n := range d.n {
		if n == 0 {
			continue
		}
		s.dropped[reason].Add(uint64(n))
		s.opt.log.Warn("spool over its bound: dropped the oldest results unsent",
			"reason", dropReasons[reason], "results", n, "first_seq", d.first[reason], "last_seq", d.last[reason],
			"max_bytes", s.opt.maxBytes, "max_age", s.opt.maxAge)
	}
}

// DropReasons are the reasons Dropped counts, in a stable order.
func DropReasons() []string { return slices.Clone(dropReasons[:]) }

// Dropped is how many results were dropped unsent for reason ("size",
// "age" or "queue_full") since the spool was opened.
func (s *Spool) Dropped(reason string) uint64 {
	for i, r := range dropReasons {
		if r == reason {
			return s.dropped[i].Load()
		}
	}
	return 0
}
