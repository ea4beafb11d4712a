package boltfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// newFile writes n keys of 1 KiB into a new bbolt file and returns its
// path and the bytes its commit uses, as bbolt reports them.
func newFile(t *testing.T, n int) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put([]byte{byte(i >> 8), byte(i)}, make([]byte, 1024)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	}
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path, used
}

// A file cut below the pages its commit uses must be refused before
// bbolt maps it: the mapping would raise SIGBUS on the missing pages.
func TestPreflightRefusesTruncatedFile(t *testing.T) {
	path, used := newFile(t, 200)
	h, err := Preflight(path)
	if err != nil || h.NeedBytes() != used {
		t.Fatalf("intact file: need %d bytes (bbolt says %d), err %v", h.NeedBytes(), used, err)
	}
	if err := os.Truncate(path, used-1); err != nil {
		t.Fatal(err)
	}
	if _, err := Preflight(path); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("file cut one byte short: %v, want a truncation error", err)
	}
	_, _, err = Open(path, Options{Bolt: &bolt.Options{Timeout: time.Second}, NoWalk: true, Recovery: "salvage it"})
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) || corrupt.Path != path || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("Open without the walk: %v, want a CorruptError for %s", err, path)
	}
}

// A sidecar slot torn by a crash falls back to the other slot; a
// sidecar with no readable slot is an error, never a made-up record.
func TestReadKnownTornSlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.known")
	k, err := openKnown(path, 0o600, Mark{Txid: 5, Size: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.note(Mark{Txid: 6, Size: 8192}); err != nil {
		t.Fatal(err)
	}
	k.Close(nil)
	m, ok, err := ReadKnown(path)
	if !ok || err != nil || m.Txid != 6 {
		t.Fatalf("ReadKnown: %+v %v %v, want txid 6", m, ok, err)
	}
	b, _ := os.ReadFile(path)
	slot := int(k.slot) * knownSlot
	b[slot+9] ^= 1 // the newest slot, torn
	os.WriteFile(path, b, 0o600)
	if m, ok, err = ReadKnown(path); !ok || err != nil || m.Txid != 5 {
		t.Errorf("newest slot torn: %+v %v %v, want the older txid 5", m, ok, err)
	}
	b[(1-k.slot)*knownSlot+9] ^= 1
	os.WriteFile(path, b, 0o600)
	if _, ok, err = ReadKnown(path); ok || err == nil {
		t.Errorf("both slots torn: ok %v err %v, want an error", ok, err)
	}
}
