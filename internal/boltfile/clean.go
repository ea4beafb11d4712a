package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A store opened with bbolt's NoFreelistSync writes no freelist at each
// commit, so bbolt rebuilds it at every open by reading every page of
// the tree, and Open walks every page first so that a corrupted one is
// refused rather than crash that rebuild: both cost seconds on a file of
// gigabytes. CloseClean ends a session with one commit that writes the
// freelist, and records in the sidecar that the file was closed cleanly
// after it, with the file's size and a modification time it stamped on
// it. The next Open trusts the file only when all of them still match
// and the freelist pages read with bounds checks: it then skips the walk
// and bbolt reads the freelist instead of rebuilding it. The first
// commit after that goes back to writing no freelist (bbolt frees the
// written one). Anything else (a crash, a file written, cut or replaced
// after the close, an older sidecar) gets the full walk and rebuild.
//
// A page corrupted on disk without a write (bit rot) after a clean close
// is not seen at open; `store check` reads every page.

// Opened says what Open checked before bbolt mapped the file.
type Opened struct {
	Walked bool          // every reachable page was walked
	Why    string        // why the walk was done or could be skipped
	Pages  int           // pages Open read to check the file (meta pages aside)
	Took   time.Duration // the checks, bbolt's own open (freelist load) and Init
}

// stampBack is how far before the close CloseClean dates the file: a
// later write stamps the time of that write, never this one, even from
// a clock that lags by one tick.
const stampBack = time.Second

// CloseClean commits once more with bbolt's freelist written, notes
// that commit in the sidecar, closes db, stamps the file's modification
// time and records the clean close in the sidecar, then closes it. When
// the last commit fails, db and the sidecar are closed as after a crash
// (the next Open walks) and the error is returned; when only the stamp
// fails, it is logged and the next Open walks.
func CloseClean(db *bolt.DB, k *Known) error {
	path := db.Path()
	err := db.Update(func(tx *bolt.Tx) error {
		tx.DB().NoFreelistSync = false // read by this commit, under the writer's lock
		return nil
	})
	if err == nil {
		err = db.Sync() // a db with NoSync: the commit is not on disk yet
	}
	if err != nil {
		return errors.Join(fmt.Errorf("last commit, with the freelist: %w", err), k.Close(db), db.Close())
	}
	if err := k.Note(db); err != nil {
		return errors.Join(err, k.Close(nil), db.Close())
	}
	k.mu.Lock()
	last := k.last
	k.mu.Unlock()
	if err := db.Close(); err != nil {
		return errors.Join(err, k.Close(nil))
	}
	m, err := stampClean(path, last)
	if err != nil {
		// Setting a modification time needs the file's owner: a
		// collector running as another user than the one who created
		// the file cannot. Nothing is lost; the next open walks.
		k.log.Warn("could not mark the file closed cleanly; the next start reads every page to check it",
			"file", path, "err", err)
	}
	k.mu.Lock()
	if k.f != nil && m.Clean {
		k.slot ^= 1
		_, err = k.f.WriteAt(encodeMark(m), int64(k.slot*knownSlot))
	}
	k.mu.Unlock()
	return errors.Join(err, k.Close(nil))
}

// stampClean sets the closed file's modification time to a moment of
// its own choosing (whole microseconds, up to two seconds back, so that
// file systems of 100 ns and 1 µs keep it) and returns the clean mark,
// or last unchanged when the file system rounds it: a coarse
// modification time could not tell a later write from the close.
func stampClean(path string, last Mark) (Mark, error) {
	stamp := time.Now().Add(-stampBack - time.Duration(rand.Int64N(int64(time.Second)))).Truncate(time.Microsecond)
	if err := os.Chtimes(path, time.Time{}, stamp); err != nil {
		return last, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return last, err
	}
	if !fi.ModTime().Equal(stamp) {
		return last, nil
	}
	last.Clean, last.FileSize, last.ModTime = true, fi.Size(), stamp.UnixNano()
	return last, nil
}

// cleanSince says whether the file is as CloseClean left it, and why
// not: the sidecar's newest record is a clean close at the file's live
// commit, and the file's size and modification time are the recorded
// ones.
func cleanSince(path string, h *Header, m Mark, ok bool) (bool, string) {
	switch {
	case !ok:
		return false, "no sidecar"
	case !m.Clean:
		return false, fmt.Sprintf("not closed cleanly after commit %d (a crash, or an older version)", m.Txid)
	case h.Live == nil || h.Live.Txid != m.Txid:
		return false, fmt.Sprintf("closed cleanly at commit %d but the file is at another commit", m.Txid)
	case h.Metas[0].Err != nil || h.Metas[1].Err != nil:
		return false, "closed cleanly but a meta page is invalid"
	case h.Live.Freelist == noFreelist:
		return false, "closed cleanly but the file has no freelist"
	case h.Size != m.FileSize:
		return false, fmt.Sprintf("closed cleanly at %d bytes but the file is %d bytes", m.FileSize, h.Size)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, err.Error()
	}
	if fi.ModTime().UnixNano() != m.ModTime {
		return false, "closed cleanly but the file was written since"
	}
	return true, fmt.Sprintf("closed cleanly at commit %d", m.Txid)
}

// noFreelist is bbolt's freelist page id for "not written" (NoFreelistSync).
const noFreelist = ^uint64(0)

// checkFreelist reads the freelist pages the live meta names, when it
// names one, with bounds checks: bbolt reads them as they are, and a
// freed page id that is in use would let it overwrite live data. It
// returns the pages read.
func checkFreelist(path string, h *Header) (int, error) {
	m := h.Live
	if m == nil || m.Freelist == noFreelist {
		return 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := &walker{f: f, r: &Report{}, ps: int64(m.PageSize), hwm: m.HWM}
	p, err := w.read(m.Freelist, 0)
	if err != nil {
		return w.r.Pages, fmt.Errorf("freelist: %w", err)
	}
	le := binary.LittleEndian
	if flags := le.Uint16(p[8:]); flags != flagFreelist {
		return w.r.Pages, fmt.Errorf("freelist page %d has flags %#x, not a freelist", m.Freelist, flags)
	}
	start, count := pageHeaderSize, uint64(le.Uint16(p[10:]))
	if count == 0xFFFF {
		count, start = le.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > uint64(len(p)-start)/8 {
		return w.r.Pages, fmt.Errorf("freelist page %d claims %d free pages, more than it holds", m.Freelist, count)
	}
	own := m.Freelist + uint64(len(p))/uint64(w.ps) // first page after the freelist's own
	var prev uint64
	for i := range count {
		id := le.Uint64(p[start+int(i)*8:])
		switch {
		case id < 2 || id >= m.HWM:
			return w.r.Pages, fmt.Errorf("freelist page %d lists page %d, outside pages 2..%d", m.Freelist, id, m.HWM)
		case id >= m.Freelist && id < own, id == m.Root:
			return w.r.Pages, fmt.Errorf("freelist page %d lists page %d, which is in use", m.Freelist, id)
		case i > 0 && id <= prev:
			return w.r.Pages, fmt.Errorf("freelist page %d lists page %d after page %d (out of order or twice)", m.Freelist, id, prev)
		}
		prev = id
	}
	return w.r.Pages, nil
}
