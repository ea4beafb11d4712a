package embedded

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/internal/boltfile/corrupttest"
)

// TestOpenErrorsSayWhy: a data dir held by another collector says so; a
// data dir the collector may not write says that instead of blaming
// another collector (the permission case is checked on the hint, since
// the tests may run as root, whom no mode stops).
func TestOpenErrorsSayWhy(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = Open(dir)
	if err == nil || !strings.Contains(err.Error(), "another collector holds it") {
		t.Errorf("second Open error = %v, want one saying another collector holds it", err)
	}

	denied := fmt.Errorf("open store: %w", &fs.PathError{Op: "mkdir", Path: "/var/lib/jangkau", Err: syscall.EACCES})
	if h := permissionHint(denied); !strings.Contains(h, "may not write there") || strings.Contains(h, "another collector") {
		t.Errorf("hint for EACCES = %q", h)
	}
	if h := permissionHint(syscall.ENOSPC); h != "" {
		t.Errorf("hint for ENOSPC = %q, want none", h)
	}
}

// TestCleanCloseOpensWithoutWalk: a store closed by Close opens without
// the page walk, its commits go on writing no freelist (the write
// path's gain), and the copy a crash leaves is walked and holds every
// result.
func TestCleanCloseOpensWithoutWalk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeBatches(t, st, 0, recBatches-1)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if op := st.known.Opened(); op.Walked || op.Pages > 2 {
		t.Errorf("after Close: %+v, want no walk", op)
	}
	writeBatches(t, st, recBatches-1, recBatches)
	h, err := boltfile.Preflight(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.Live.Freelist != ^uint64(0) {
		t.Errorf("a write after a clean open wrote bbolt's freelist (page %d): each commit would write it", h.Live.Freelist)
	}

	crashed := corrupttest.Crash(t, dir, FileName, FileName+boltfile.KnownSuffix)
	again, err := Open(crashed)
	if err != nil {
		t.Fatal(err)
	}
	op := again.known.Opened()
	if !op.Walked || op.Pages < 10 {
		t.Errorf("after a crash: %+v, want every page walked", op)
	}
	again.Close()
	if n := len(storedSeqs(t, crashed)); n != recTotal {
		t.Errorf("after a crash the store holds %d results, want %d", n, recTotal)
	}
}
