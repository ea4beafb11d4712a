package main

import (
	"os"
	"regexp"
	"testing"
)

// buildRE matches a documented build command: its tags and output file.
var buildRE = regexp.MustCompile(`go build (?:-tags (\S+) )?-o (\S+) \./cmd/jangkau`)

// TestDocumentedBuildsWriteDifferentFiles: the full and the probe-only
// build commands of the README and docs/deploy.md write different files,
// so that running both in turn, as the README lists them, keeps both (the
// probe-only build used to replace ./jangkau).
func TestDocumentedBuildsWriteDifferentFiles(t *testing.T) {
	for _, doc := range []string{"../../README.md", "../../docs/deploy.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{} // tags -> output file
		for _, m := range buildRE.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = m[2]
		}
		if len(out) < 2 {
			t.Fatalf("%s: %d kinds of build command found, want the full and the probe-only one", doc, len(out))
		}
		if out[""] == out["probeonly"] {
			t.Errorf("%s: the full and the probe-only builds both write %s", doc, out[""])
		}
	}
}
