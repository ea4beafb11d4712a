package embedded

import (
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
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
