package spool

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The epoch is the spool file's identity: kept across reopening, new
// with a new file, and given to a file from before epochs without
// touching its seqs.
func TestEpochIsTheFilesIdentity(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir)
	epoch := s.Epoch()
	if len(epoch) != 32 {
		t.Fatalf("epoch %q, want 32 hex digits", epoch)
	}
	if _, err := s.Add(results(3)...); err != nil {
		t.Fatal(err)
	}
	s.Close()
	again := openSpool(t, dir)
	if again.Epoch() != epoch || again.LastSeq() != 3 {
		t.Errorf("reopened: epoch %q, last seq %d; want %q, 3", again.Epoch(), again.LastSeq(), epoch)
	}
	again.Close()
	if other := openSpool(t, t.TempDir()); other.Epoch() == epoch {
		t.Errorf("a new spool has the old one's epoch %q", epoch)
	}

	// A file written before epochs: no epoch key, seqs 1..3.
	db, err := bolt.Open(dir+"/spool.db", 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyEpoch) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	old := openSpool(t, dir)
	if old.Epoch() == "" || old.Epoch() == epoch || old.LastSeq() != 3 || old.Len() != 3 {
		t.Errorf("file from before epochs: epoch %q (old %q), last seq %d, held %d; want a new epoch, seqs kept (3, 3)",
			old.Epoch(), epoch, old.LastSeq(), old.Len())
	}
}
