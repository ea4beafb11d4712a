package boltfile

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jangkau/jangkau/internal/boltfile/corrupttest"
)

const (
	cleanKeys   = 3000
	cleanBucket = "b"
)

// openNoFreelist opens path as the collector's store does: bbolt writes
// no freelist at its commits.
func openNoFreelist(t *testing.T, path string) (*bolt.DB, *Known, error) {
	t.Helper()
	return Open(path, Options{
		Bolt: &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
		Mode: 0o600, Recovery: "salvage it", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// fillClean writes cleanKeys records (marked "rec") in 30 commits,
// deletes some so that the file has free pages, and closes it with
// CloseClean.
func fillClean(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	db, k, err := openNoFreelist(t, path)
	if err != nil {
		t.Fatal(err)
	}
	for c := range 30 {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte(cleanBucket))
			if err != nil {
				return err
			}
			for i := c * cleanKeys / 30; i < (c+1)*cleanKeys/30; i++ {
				if err := b.Put(binary.BigEndian.AppendUint32(nil, uint32(i)), []byte(strings.Repeat("rec", 100))); err != nil {
					return err
				}
			}
			if c > 0 && c%5 == 0 { // rewrite a few: pages are freed
				return b.Put(binary.BigEndian.AppendUint32(nil, 0), []byte(strings.Repeat("rec", 101)))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		k.Note(db)
	}
	if err := CloseClean(db, k); err != nil {
		t.Fatal(err)
	}
	return path
}

func countKeys(t *testing.T, db *bolt.DB) int {
	t.Helper()
	var n int
	if err := db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(cleanBucket)).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A file closed with CloseClean opens without the page walk and bbolt
// reads its freelist; the first commit after goes back to writing none;
// a file closed without it (a crash) is walked.
func TestCleanCloseSkipsTheWalk(t *testing.T) {
	path := fillClean(t)
	h, err := Preflight(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.Live.Freelist == noFreelist {
		t.Fatal("after CloseClean the live meta has no freelist")
	}
	pages := h.Live.HWM

	db, k, err := openNoFreelist(t, path)
	if err != nil {
		t.Fatal(err)
	}
	op := k.Opened()
	if op.Walked || op.Pages > 2 {
		t.Errorf("after a clean close: %+v, want no walk and only the freelist read", op)
	}
	if db.Stats().FreePageN == 0 {
		t.Errorf("bbolt read no free pages from the freelist")
	}
	if n := countKeys(t, db); n != cleanKeys {
		t.Errorf("%d records after a clean close, want %d", n, cleanKeys)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(cleanBucket)).Put([]byte("new"), []byte("rec"))
	}); err != nil {
		t.Fatal(err)
	}
	if h, err := Preflight(path); err != nil || h.Live.Freelist != noFreelist {
		t.Errorf("the commit after a clean open wrote a freelist (page %d, %v): the write path lost NoFreelistSync", h.Live.Freelist, err)
	}
	k.Note(db)
	// A crash: the sidecar and the file as they are now.
	k.Close(db)
	db.Close()

	db, k, err = openNoFreelist(t, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer k.Close(db)
	if op := k.Opened(); !op.Walked || op.Pages < int(pages)/2 {
		t.Errorf("after a crash: %+v, want every page walked (the file has %d)", op, pages)
	}
	if n := countKeys(t, db); n != cleanKeys+1 {
		t.Errorf("%d records after the crash, want %d", n, cleanKeys+1)
	}
}

// A sidecar that says clean never vouches for a file changed after the
// close: each change gets the full walk, and a damaged page is refused.
func TestCorruptAfterCleanClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
		refuse string // "" for a healthy file that must open, walked
	}{
		{"leaf page overwritten", func(t *testing.T, path string) {
			corrupttest.CorruptLeaf(t, path, cleanBucket, "rec")
		}, "corrupted page"},
		{"cut and grown back to its size", func(t *testing.T, path string) {
			size := corrupttest.Size(t, path)
			corrupttest.Truncate(t, path, size/2)
			corrupttest.Truncate(t, path, size)
		}, "refusing to open"},
		{"grown, modification time put back", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			corrupttest.Truncate(t, path, fi.Size()+1<<16)
			if err := os.Chtimes(path, time.Time{}, fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"written by bbolt alone", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(cleanBucket)).Put([]byte("x"), []byte("y")) }); err != nil {
				t.Fatal(err)
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := fillClean(t)
			tc.change(t, path)
			db, k, err := openNoFreelist(t, path)
			if tc.refuse != "" {
				var corrupt *CorruptError
				if !errors.As(err, &corrupt) || !strings.Contains(err.Error(), tc.refuse) {
					if err == nil {
						t.Errorf("opened: %+v", k.Opened())
						k.Close(db)
						db.Close()
					}
					t.Fatalf("Open: %v, want a CorruptError saying %q", err, tc.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			defer k.Close(db)
			if op := k.Opened(); !op.Walked {
				t.Errorf("changed after the clean close, opened without the walk: %+v", op)
			}
		})
	}
}

// A freelist page that lists a page in use would let bbolt overwrite
// live data: refused even when the sidecar says clean and the file's
// modification time was put back.
func TestCorruptFreelistRefused(t *testing.T) {
	path := fillClean(t)
	h, err := Preflight(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(h.Live.Freelist)*int64(h.Live.PageSize) + pageHeaderSize
	if _, err := f.WriteAt(binary.LittleEndian.AppendUint64(nil, h.Live.Root), off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	db, k, err := openNoFreelist(t, path)
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) || !strings.Contains(err.Error(), "freelist") {
		if err == nil {
			t.Errorf("opened: %+v", k.Opened())
			k.Close(db)
			db.Close()
		}
		t.Fatalf("Open: %v, want a CorruptError naming the freelist", err)
	}
}

// A sidecar written before clean closes (32-byte JKN1 records) still
// reads, so an upgraded collector keeps its check of lost commits; it is
// never taken for a clean close.
func TestReadKnownVersion1(t *testing.T) {
	rec := make([]byte, 32)
	binary.LittleEndian.PutUint32(rec, 0x4A4B4E31)
	binary.LittleEndian.PutUint64(rec[8:], 41)
	binary.LittleEndian.PutUint64(rec[16:], 8192)
	h := fnv.New64a()
	h.Write(rec[:24])
	binary.LittleEndian.PutUint64(rec[24:], h.Sum64())
	path := filepath.Join(t.TempDir(), "x.known")
	if err := os.WriteFile(path, append(rec, make([]byte, 512)...), 0o600); err != nil {
		t.Fatal(err)
	}
	m, ok, err := ReadKnown(path)
	if !ok || err != nil || m.Txid != 41 || m.Size != 8192 || m.Clean {
		t.Errorf("ReadKnown of a version 1 sidecar: %+v %v %v, want txid 41, 8192 bytes, not clean", m, ok, err)
	}
}
