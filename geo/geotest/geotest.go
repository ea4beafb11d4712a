// Package geotest finds boundary files for tests: the real Banten files,
// which are never copied into the repository, so every package's tests look
// for them the same way (skipped on a fresh clone, required in CI), and the
// small hand-made fixtures that the geo packages share.
package geotest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jangkau/jangkau/internal/testenv"
)

// EnvDir overrides where the boundary files are looked for.
const EnvDir = "JANGKAU_GEO_DIR"

// Dir returns the directory holding the boundary files: $JANGKAU_GEO_DIR,
// else <repo root>/../shared/geo. When neither exists the test is skipped,
// except in CI (testenv.InCI), where a silent skip would hide that the
// real-data tests never ran, so it fails instead.
func Dir(t testing.TB) string {
	t.Helper()
	var looked []string
	if d := os.Getenv(EnvDir); d != "" {
		if isDir(d) {
			return d
		}
		looked = append(looked, "$"+EnvDir+"="+d)
	}
	if root, ok := repoRoot(); ok {
		d := filepath.Join(root, "..", "shared", "geo")
		if isDir(d) {
			return d
		}
		looked = append(looked, d)
	} else {
		looked = append(looked, "no go.mod above the working directory")
	}
	missing(t, "boundary directory not found; looked in %q (set %s)", looked, EnvDir)
	return ""
}

// File returns the path of one boundary file, e.g. "banten-adm4.geojson",
// skipping or failing as Dir does when it is absent.
func File(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Dir(t), name)
	if _, err := os.Stat(p); err != nil {
		missing(t, "boundary file %s: %v", p, err)
	}
	return p
}

// Fixture returns the path of a small hand-made boundary file kept in
// geotest/testdata, such as "province99.geojson", so that the region, tile
// and draw tests share one copy of each.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	root, ok := repoRoot()
	if !ok {
		t.Fatalf("fixture %s: no go.mod above the working directory", name)
	}
	p := filepath.Join(root, "geo", "geotest", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return p
}

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.Missing(t, format, args...)
}

// repoRoot walks up from the working directory (a package directory under
// go test) to the directory holding go.mod.
func repoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", false
		}
		dir = up
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
