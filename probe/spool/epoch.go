package spool

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jangkau/jangkau/wire"
	bolt "go.etcd.io/bbolt"
)

// Keys of bucket "meta" besides next_seq.
var (
	// keyEpoch is the spool's identity: made once, with the file.
	keyEpoch = []byte("epoch")
	// keyUnspooled is the JSON wire.Dropped of what never got a seq.
	keyUnspooled = []byte("unspooled")
)

// loadEpoch reads the spool's epoch, making one if the file has none (a
// new file, or one written before epochs). A file that already holds
// seqs keeps them under its new epoch: the collector adopts the first
// epoch it hears from a probe without starting a new seq space.
func loadEpoch(meta *bolt.Bucket) (string, error) {
	if v := meta.Get(keyEpoch); len(v) > 0 {
		return string(v), nil
	}
	var b [16]byte
	rand.Read(b[:])
	epoch := hex.EncodeToString(b[:])
	if err := meta.Put(keyEpoch, []byte(epoch)); err != nil {
		return "", err
	}
	return epoch, nil
}

// Epoch is the spool's identity, a random id made with the file. The
// uploader sends it with every batch (wire.Batch.SpoolEpoch): a new
// file starts at seq 1 again, and its new epoch tells the collector so.
func (s *Spool) Epoch() string { return s.epoch }

// unspooled tallies the results that never got a seq: dropped from the
// full queue, or lost with a commit the disk refused. The tally is
// cumulative for the spool's life and written to the file with the next
// commit that succeeds (any Add or Ack), so that a restart does not lose
// it; only what is dropped while no commit succeeds at all (a disk full
// until the probe stops) is lost with the process.
type unspooled struct {
	mu    sync.Mutex
	d     wire.Dropped
	saved uint64 // d.Results as last committed
}

// add counts one result of time t that never got a seq.
func (u *unspooled) add(t time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.d.Results++
	if u.d.First.IsZero() || t.Before(u.d.First) {
		u.d.First = t
	}
	if t.After(u.d.Last) {
		u.d.Last = t
	}
}

// load reads the tally a former run committed.
func (u *unspooled) load(meta *bolt.Bucket) error {
	v := meta.Get(keyUnspooled)
	if v == nil {
		return nil
	}
	var d wire.Dropped
	if err := json.Unmarshal(v, &d); err != nil {
		return fmt.Errorf("meta %s: %w", keyUnspooled, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.d, u.saved = d, d.Results
	return nil
}

// save puts the tally into meta if it grew since the last commit; the
// caller calls committed with the returned count once the transaction
// is on disk.
func (u *unspooled) save(meta *bolt.Bucket) (uint64, error) {
	u.mu.Lock()
	d, saved := u.d, u.saved
	u.mu.Unlock()
	if d.Results == saved {
		return saved, nil
	}
	v, err := json.Marshal(d)
	if err != nil {
		return saved, err
	}
	return d.Results, meta.Put(keyUnspooled, v)
}

func (u *unspooled) committed(n uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.saved = max(u.saved, n)
}

// Unspooled is the running total of results that never got a seq (see
// wire.Dropped), nil when there are none. The uploader sends it with
// every batch; it is never reset, so the collector counts what grew.
func (s *Spool) Unspooled() *wire.Dropped {
	s.unspooled.mu.Lock()
	defer s.unspooled.mu.Unlock()
	if s.unspooled.d.Results == 0 {
		return nil
	}
	d := s.unspooled.d
	return &d
}

// saveUnspooled commits the tally on its own (on Close): what the last
// group could not commit, the next run still reports.
func (s *Spool) saveUnspooled() error {
	var n uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		n, err = s.unspooled.save(tx.Bucket(bucketMeta))
		return err
	})
	if err != nil {
		return fmt.Errorf("spool: save the count of unspooled results: %w", err)
	}
	s.unspooled.committed(n)
	return nil
}
