package boltfile

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CorruptError is a file that Open refuses: it lost commits or cannot be
// read. It names the file, says what is wrong and how to recover.
type CorruptError struct {
	Path     string
	Reason   string
	Recovery string // the command that recovers, e.g. "jangkau store salvage --data DIR --replace"
}

// Error leaves out Path: the caller's "open store PATH: " names it.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s; refusing to open it, so that nothing in it is lost or overwritten. "+
		"See what is readable with `%s`, then keep every readable record in a new file with `%s`",
		e.Reason, e.checkCommand(), e.Recovery)
}

// checkCommand is the recovery command's check twin.
func (e *CorruptError) checkCommand() string {
	return strings.TrimSpace(strings.Replace(strings.Replace(e.Recovery, " --replace", "", 1), " salvage ", " check ", 1))
}

// Options says how to open a file.
type Options struct {
	Bolt *bolt.Options
	Mode os.FileMode
	// Recovery is the salvage command shown in a CorruptError; its check
	// twin is derived by replacing "salvage" with "check" and dropping
	// "--replace".
	Recovery string
	// Init runs once the file is open (create buckets, read state). A
	// panic in it is a corrupted page, reported as a CorruptError.
	Init func(*bolt.DB) error
	// NoWalk skips the defensive walk of every reachable page before
	// bbolt maps the file, even after a crash. Without the walk, a
	// corrupted page can crash the process in a goroutine of bbolt's
	// that no recover reaches (freelist rebuild of NoFreelistSync) or
	// raise SIGBUS.
	NoWalk bool
	Log    *slog.Logger
}

// Open opens the bbolt file at path once Preflight and the sidecar
// agree that it holds every commit this process saw, its freelist pages
// (when it has them) read with bounds checks, and a walk of every
// reachable page found none damaged. The walk is skipped when the file
// is as CloseClean left it (clean.go); Known.Opened says what was done,
// and it is logged at info. It opens or creates the sidecar and
// turns a panic of bbolt while opening or in Init into a *CorruptError.
// bbolt's own Check (key order too) is left to Check: it costs as much
// again (docs/benchmarks.md). The caller closes the Known (with the db
// still open) before the db.
func Open(path string, o Options) (db *bolt.DB, known *Known, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	timeout := time.Duration(0)
	if o.Bolt != nil {
		timeout = o.Bolt.Timeout
	}
	unlock, err := lockForCheck(path, timeout)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	began := time.Now()
	h, err := Preflight(path)
	if err != nil {
		return nil, nil, &CorruptError{Path: path, Reason: err.Error(), Recovery: o.Recovery}
	}
	knownPath := path + KnownSuffix
	mark, ok, kerr := ReadKnown(knownPath)
	if kerr != nil {
		o.Log.Warn("ignoring an unreadable sidecar; it is rewritten now", "file", knownPath, "err", kerr)
	}
	if ok {
		if reason := Judge(h, mark); reason != "" {
			return nil, nil, &CorruptError{Path: path, Reason: reason, Recovery: o.Recovery}
		}
	}
	var opened Opened
	if h.Live != nil {
		if opened, err = check(path, h, mark, ok, o.NoWalk); err != nil {
			return nil, nil, &CorruptError{Path: path, Reason: err.Error(), Recovery: o.Recovery}
		}
	}
	for _, m := range h.Metas {
		if h.Live != nil && m.Err != nil {
			// A crash while bbolt wrote this meta page: that commit never
			// returned, and the other page is at or after the last one
			// noted. bbolt rewrites it at the next commit.
			o.Log.Warn("a meta page is invalid, the file opens at the other one (a crash during a commit leaves this)",
				"file", path, "page", m.Page, "err", m.Err, "txid", h.Live.Txid)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				closeQuietly(db)
			}
			db, known = nil, nil
			err = &CorruptError{Path: path, Reason: fmt.Sprintf("a page is corrupted (bbolt: %v)", r), Recovery: o.Recovery}
		}
	}()
	unlock()
	unlock = nil // bbolt takes the lock itself
	db, err = bolt.Open(path, o.Mode, o.Bolt)
	if err != nil {
		return nil, nil, err
	}
	if o.Init != nil {
		if err := Guard(path, o.Recovery, func() error { return o.Init(db) }); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	var start Mark
	if err := db.View(func(tx *bolt.Tx) error {
		start = Mark{Txid: uint64(tx.ID()), Size: uint64(tx.Size())}
		return nil
	}); err != nil {
		db.Close()
		return nil, nil, err
	}
	if known, err = openKnown(knownPath, o.Mode, start); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sidecar %s: %w", knownPath, err)
	}
	opened.Took = time.Since(began)
	known.opened, known.log = opened, o.Log
	if h.Live != nil {
		o.Log.Info("opened", "file", path, "bytes", h.Size, "walked", opened.Walked, "why", opened.Why,
			"pages_read", opened.Pages, "took", opened.Took.Round(time.Millisecond))
	}
	return db, known, nil
}

// check reads what bbolt will trust of the file: its freelist pages,
// when it has them, and every reachable page unless the file is as a
// clean close left it (clean.go) or noWalk.
func check(path string, h *Header, mark Mark, ok, noWalk bool) (Opened, error) {
	var op Opened
	n, err := checkFreelist(path, h)
	op.Pages += n
	if err != nil {
		return op, err
	}
	clean, why := cleanSince(path, h, mark, ok)
	switch {
	case clean:
		op.Why = why + ": page walk skipped, bbolt reads the freelist"
	case noWalk:
		op.Why = why + ": page walk turned off"
	default:
		op.Walked, op.Why = true, why+": every page walked"
		rep, err := Walk(path, nil, nil)
		if rep != nil {
			op.Pages += rep.Pages
		}
		if err != nil {
			return op, err
		}
		if rep.BadPages > 0 {
			return op, errors.New(rep.badSummary())
		}
	}
	return op, nil
}

// closeQuietly closes a db that panicked; closing may panic too.
func closeQuietly(db *bolt.DB) {
	defer func() { _ = recover() }()
	db.Close()
}

// Judge compares a file's header with its sidecar and says why the file
// lost commits, or "" when it holds at least what the sidecar saw.
func Judge(h *Header, m Mark) string {
	switch {
	case h.Size == 0:
		return fmt.Sprintf("the file is missing or empty (0 bytes) but it held commit %d of %d bytes: it was truncated or deleted",
			m.Txid, m.Size)
	case uint64(h.Size) < m.Size:
		return fmt.Sprintf("truncated: the file is %d bytes but it held commit %d of %d bytes", h.Size, m.Txid, m.Size)
	case h.Live != nil && h.Live.Txid < m.Txid:
		var bad []string
		for _, x := range h.Metas {
			if x.Err != nil {
				bad = append(bad, fmt.Sprintf("meta page %d: %v", x.Page, x.Err))
			}
		}
		return fmt.Sprintf("its newest readable commit is %d but commit %d was written and acknowledged (%v): bbolt would silently open the older commit",
			h.Live.Txid, m.Txid, bad)
	}
	return ""
}

// CheckDB runs bbolt's consistency check on an open db, recovering a
// panic, and returns its first errors joined, or nil.
func CheckDB(db *bolt.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("consistency check: a page is corrupted (bbolt: %v)", r)
		}
	}()
	var errs []error
	verr := db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			if len(errs) < 5 {
				errs = append(errs, e)
			}
		}
		return nil
	})
	if verr != nil {
		return verr
	}
	if len(errs) > 0 {
		return fmt.Errorf("consistency check: %w", errors.Join(errs...))
	}
	return nil
}

// Guard runs fn (a first read of a file just opened) and turns a panic
// of bbolt on a corrupted page into a *CorruptError naming path.
func Guard(path, recovery string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &CorruptError{Path: path, Reason: fmt.Sprintf("a page is corrupted (bbolt: %v)", r), Recovery: recovery}
		}
	}()
	return fn()
}

// GuardedUpdate is db.Update under Guard, for the first transaction
// after Open.
func GuardedUpdate(db *bolt.DB, path, recovery string) func(func(*bolt.Tx) error) error {
	return func(fn func(*bolt.Tx) error) error {
		return Guard(path, recovery, func() error { return db.Update(fn) })
	}
}
