package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// An operator asks a binary what it is: version, revision, Go version and
// build tags, on stdout, exit 0.
func TestVersionCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("jangkau version: exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	first, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(first, "jangkau, version ") || strings.HasPrefix(first, "jangkau, version  ") {
		t.Errorf("first line %q does not name a version", first)
	}
	for _, want := range []string{"revision: ", "go version:       " + runtime.Version(), "tags: "} {
		if !strings.Contains(out, want) {
			t.Errorf("jangkau version lacks %q:\n%s", want, out)
		}
	}
}
