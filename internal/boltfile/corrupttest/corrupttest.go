// Package corrupttest damages closed bbolt files the ways disks and
// operators do, for the tests of the store and the spool. It finds pages
// through bbolt's own API (Tx.Page), not through boltfile's reader, so
// that a test does not check boltfile against itself.
package corrupttest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Truncate cuts the file at path to size bytes.
func Truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// Size is the file's size.
func Size(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// info is what bbolt says of the file: page size, newest txid and the
// leaf pages with their element counts.
type info struct {
	pageSize int
	txid     int
	leaves   map[int]int
}

func inspect(t *testing.T, path string) info {
	t.Helper()
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in := info{pageSize: db.Info().PageSize, leaves: map[int]int{}}
	err = db.View(func(tx *bolt.Tx) error {
		in.txid = tx.ID()
		for id := 2; ; id++ {
			p, err := tx.Page(id)
			if err != nil {
				return err
			}
			if p == nil {
				return nil
			}
			if p.Type == "leaf" {
				in.leaves[id] = p.Count
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// CorruptNewestMeta flips one byte of the checksum of the meta page
// that bbolt opens at (bit rot): bbolt then silently opens the previous
// commit. It returns the txid of the commit whose meta it spoiled.
func CorruptNewestMeta(t *testing.T, path string) int {
	t.Helper()
	in := inspect(t, path)
	page := in.txid % 2
	off := int64(page*in.pageSize) + 16 + 56 // page header, meta up to its checksum
	flipByte(t, path, off)
	return in.txid
}

// CorruptLeaf overwrites with garbage one leaf page, in the middle of
// the file, holding a record whose bytes contain mark and none of the
// bucket name bucket (so not the page of the bucket's parent). It
// returns the number of records it destroyed.
func CorruptLeaf(t *testing.T, path string, bucket, mark string) int {
	t.Helper()
	in := inspect(t, path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []int
	buf := make([]byte, in.pageSize)
	for id := range in.leaves {
		if _, err := f.ReadAt(buf, int64(id*in.pageSize)); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(buf, []byte(mark)) && !bytes.Contains(buf, []byte(bucket)) {
			ids = append(ids, id)
		}
	}
	if len(ids) < 3 {
		t.Fatalf("%s: %d leaf pages of bucket %s, want at least 3 to damage one", path, len(ids), bucket)
	}
	slices.Sort(ids)
	id := ids[len(ids)/2]
	for i := range buf {
		buf[i] = byte(i*7 + 13)
	}
	if _, err := f.WriteAt(buf, int64(id*in.pageSize)); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	return in.leaves[id]
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// Damage is one way a file gets damaged. Lost is how many of total
// records it destroys for good, or -1 for "some but not all".
type Damage struct {
	Name   string
	Damage func(t *testing.T, path string) (lost int)
}

// Damages are the four damages of issue 14 to a file whose bucket holds
// total records, each with mark in its bytes: emptied, cut at half,
// newest meta page's checksum flipped (every page of that commit reads,
// so nothing is lost) and one leaf page overwritten.
func Damages(bucket, mark string, total int) []Damage {
	return []Damage{
		{"truncated to 0", func(t *testing.T, path string) int {
			Truncate(t, path, 0)
			return total
		}},
		{"truncated mid-file", func(t *testing.T, path string) int {
			Truncate(t, path, Size(t, path)/2)
			return -1
		}},
		{"newest meta page corrupted", func(t *testing.T, path string) int {
			CorruptNewestMeta(t, path)
			return 0
		}},
		{"data page corrupted", func(t *testing.T, path string) int {
			return CorruptLeaf(t, path, bucket, mark)
		}},
	}
}

// CheckRecovered fails t unless got of total records are what is left
// after losing lost (-1: some but not all).
func CheckRecovered(t *testing.T, got, total, lost int) {
	t.Helper()
	switch {
	case lost >= 0 && got != total-lost:
		t.Errorf("salvaged %d of %d records, want %d (%d lost with the damage)", got, total, total-lost, lost)
	case lost < 0 && (got == 0 || got >= total):
		t.Errorf("salvaged %d of %d records, want some but not all", got, total)
	}
}

// Crash copies the named files of dir, as they are now, into a new
// directory and returns it: what a kill -9 or a power cut would leave
// of a file still open.
func Crash(t *testing.T, dir string, names ...string) string {
	t.Helper()
	out := t.TempDir()
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
