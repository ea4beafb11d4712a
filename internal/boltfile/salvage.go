package boltfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Rules are what a file's owner knows of its records.
type Rules struct {
	// Keep says whether a record is copied: nil keeps it. It lets a
	// store refuse a value that a corrupted page garbled (bbolt keeps no
	// checksum of data pages, so a record can be readable and wrong).
	Keep func(bucket [][]byte, key, value []byte) error
	// Orphan places records found on pages that the tree no longer
	// reaches (see Walk); nil leaves them.
	Orphan Orphan
	// Fix runs last in the salvaged file, in its own transaction: what
	// the owner must derive from what was kept (state whose record was
	// lost).
	Fix func(tx *bolt.Tx) error
}

// Check reports on the file at path without changing it: Preflight, the
// sidecar, a defensive walk of every reachable page (records counted,
// each offered to keep), and, when the walk found nothing wrong, bbolt's
// own consistency check. ok is false when Open would refuse the file or
// a page is lost.
func Check(path string, rules Rules) (r *Report, ok bool, err error) {
	unlock, err := lockForCheck(path, time.Second)
	if err != nil {
		return nil, false, fmt.Errorf("check %s (stop the process using it first): %w", path, err)
	}
	rejected := 0
	r, err = Walk(path, func(b [][]byte, k, v []byte) error {
		if rules.Keep != nil && rules.Keep(b, k, v) != nil {
			rejected++
		}
		return nil
	}, rules.Orphan)
	unlock() // before bbolt takes its own lock below
	if r != nil {
		r.Rejected = rejected
	}
	if err != nil {
		if r == nil {
			return nil, false, err
		}
		r.Integrity = append(r.Integrity, err.Error())
		return r, false, nil
	}
	if _, perr := Preflight(path); perr != nil {
		r.Integrity = append(r.Integrity, perr.Error())
	}
	if m, found, kerr := ReadKnown(path + KnownSuffix); kerr != nil {
		r.Integrity = append(r.Integrity, kerr.Error())
	} else if found {
		if reason := Judge(r.Header, m); reason != "" {
			r.Integrity = append(r.Integrity, reason)
		}
	}
	if r.BadPages == 0 && r.Header.Live != nil && r.Header.Size >= r.Header.NeedBytes() {
		db, oerr := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if oerr != nil {
			r.Integrity = append(r.Integrity, oerr.Error())
		} else {
			if cerr := CheckDB(db); cerr != nil {
				r.Integrity = append(r.Integrity, cerr.Error())
			}
			db.Close()
		}
	}
	return r, r.BadPages == 0 && r.Rejected == 0 && len(r.Integrity) == 0, nil
}

// Salvage copies every readable record of the file at src that keep
// accepts into a new bbolt file at dst (which must not exist), under the
// same bucket paths, and reports what it read, kept and lost. src is
// only read (never mapped); dst is fsynced before Salvage returns.
func Salvage(src, dst string, rules Rules) (*Report, error) {
	if _, err := os.Stat(dst); err == nil {
		return nil, fmt.Errorf("salvage into %s: the file exists; move it away or choose another --out", dst)
	}
	unlock, err := lockForCheck(src, time.Second)
	if err != nil {
		return nil, fmt.Errorf("salvage %s (stop the process using it first): %w", src, err)
	}
	defer unlock()
	db, err := bolt.Open(dst, 0o640, &bolt.Options{NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("salvage into %s: %w", dst, err)
	}
	tx, err := db.Begin(true)
	if err != nil {
		db.Close()
		return nil, err
	}
	var r *Report
	n, kept, rejected := 0, 0, 0
	byBucket := map[string]int{}
	put := func(bucket [][]byte, k, v []byte) error {
		if rules.Keep != nil && rules.Keep(bucket, k, v) != nil {
			rejected++
			return nil
		}
		if len(bucket) == 0 {
			return nil // a plain key in the root: bbolt has none
		}
		b, err := tx.CreateBucketIfNotExists(bucket[0])
		if err != nil {
			return err
		}
		for _, name := range bucket[1:] {
			if b, err = b.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := b.Put(k, v); err != nil {
			return err
		}
		kept++
		byBucket[string(bucket[0])]++
		if n++; n%10000 == 0 {
			if err := tx.Commit(); err != nil {
				return err
			}
			tx, err = db.Begin(true)
			return err
		}
		return nil
	}
	r, err = Walk(src, put, rules.Orphan)
	if err == nil {
		err = tx.Commit()
	} else {
		_ = tx.Rollback()
	}
	if err == nil && rules.Fix != nil {
		err = db.Update(rules.Fix)
	}
	if err == nil {
		err = db.Sync()
	}
	err = errors.Join(err, db.Close())
	if err != nil {
		os.Remove(dst)
		return r, fmt.Errorf("salvage %s into %s: %w", src, dst, err)
	}
	r.Records, r.Rejected, r.ByBucket = kept, rejected, byBucket
	return r, syncDir(filepath.Dir(dst))
}

// SalvageFile is Salvage into out (default path.salvaged) and, with
// replace, Replace: what `jangkau store|spool salvage` runs. kept is
// where the damaged file was moved, "" without replace.
func SalvageFile(path, out string, replace bool, rules Rules) (r *Report, kept string, err error) {
	if out == "" {
		out = path + ".salvaged"
	}
	if r, err = Salvage(path, out, rules); err != nil || !replace {
		return r, "", err
	}
	kept, err = Replace(path, out)
	return r, kept, err
}

// Replace puts the salvaged file in place of path: path is kept as
// path.corrupt-<unix time>, and the sidecar is rewritten for the new file
// before it takes the name, so that the next Open accepts it. A crash
// in between leaves the old file with its sidecar (run the salvage
// again), or the salvaged file at path with the old sidecar, which Open
// refuses: salvaging that again copies the same records.
func Replace(path, salvaged string) (kept string, err error) {
	h, err := Preflight(salvaged)
	if err != nil || h.Live == nil {
		return "", fmt.Errorf("replace %s: the salvaged file %s does not read back: %v", path, salvaged, err)
	}
	newKnown := path + KnownSuffix + ".new"
	k, err := openKnown(newKnown, 0o600, Mark{Txid: h.Live.Txid, Size: uint64(h.NeedBytes())})
	if err != nil {
		return "", err
	}
	if err := k.Close(nil); err != nil {
		return "", err
	}
	kept = fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
	if _, err := os.Stat(path); err == nil {
		if err := os.Rename(path, kept); err != nil {
			return "", err
		}
	} else {
		kept = ""
	}
	if err := os.Rename(salvaged, path); err != nil {
		return kept, err
	}
	if err := os.Rename(newKnown, path+KnownSuffix); err != nil {
		return kept, err
	}
	return kept, syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
