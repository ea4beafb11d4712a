//go:build !probeonly

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
)

// runCmd runs the binary's command line in process.
func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// runCmdTimeout is runCmd for a command that must refuse to start: it
// fails the test if the command is still running after 20 s.
func runCmdTimeout(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, stdout, stderr = runCmd(args...)
	}()
	select {
	case <-done:
		return code, stdout, stderr
	case <-time.After(20 * time.Second):
		t.Fatalf("jangkau %s started instead of refusing", strings.Join(args, " "))
		return 0, "", ""
	}
}

// TestEmptiedStoreRefusedThenSalvaged: a collector whose results.db was
// truncated to 0 bytes refuses to start, naming the file and the
// commands; check says so; salvage --replace puts a store in place that
// opens (empty: nothing was readable).
func TestEmptiedStoreRefusedThenSalvaged(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	write(t, filepath.Join(dir, "regions.geojson"), square100)
	write(t, filepath.Join(dir, "collector.yaml"), fmt.Sprintf("listen: %s\ndata_dir: ./data\nregions: {file: regions.geojson}\n", freeAddr(t)))
	st, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	res, err := st.Write(context.Background(), store.Write{Probe: "p1", FirstSeq: 1, Received: now, Results: []wire.Result{
		{Seq: 1, Time: now, Check: "c", Kind: wire.KindTCP, Target: "127.0.0.1:1", OK: true}}})
	if err != nil || res.Stored != 1 {
		t.Fatalf("write: %+v %v", res, err)
	}
	st.Close()
	db := filepath.Join(data, embedded.FileName)
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runCmdTimeout(t, "collector", "--config", filepath.Join(dir, "collector.yaml"))
	if code != 1 || !strings.Contains(stderr, db) || !strings.Contains(stderr, "jangkau store salvage --data "+data+" --replace") {
		t.Fatalf("collector on an emptied store: exit %d, stderr:\n%s\nwant exit 1 naming %s and the salvage command", code, stderr, db)
	}
	code, stdout, _ := runCmd("store", "check", "--config", filepath.Join(dir, "collector.yaml"))
	if code != 1 || !strings.Contains(stdout, "DAMAGED") {
		t.Errorf("store check: exit %d, stdout:\n%s\nwant exit 1 and DAMAGED", code, stdout)
	}
	code, stdout, stderr = runCmd("store", "salvage", "--data", data, "--replace")
	if code != 0 || !strings.Contains(stdout, "salvaged 0 records") {
		t.Fatalf("store salvage: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ = runCmd("store", "check", "--data", data); code != 0 {
		t.Errorf("store check after salvage: exit %d\n%s", code, stdout)
	}
}

// TestCorruptSpoolRefusedThenSalvaged: a probe whose spool lost half its
// file refuses to start with the file and the command; salvage keeps
// what is readable and the spool opens again.
func TestCorruptSpoolRefusedThenSalvaged(t *testing.T) {
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	write(t, filepath.Join(dir, "probe.yaml"), `id: p1
collector: http://127.0.0.1:9
token: tok-p1
spool: {dir: ./spool}
checks:
  - {name: portal, kind: tcp, target: "127.0.0.1:9", interval: 1s, timeout: 500ms}
`)
	sp, err := spool.Open(spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for i := range n {
		if _, err := sp.Add(wire.Result{Time: time.Unix(int64(i), 0), Check: "portal", Kind: wire.KindTCP, Target: "127.0.0.1:9"}); err != nil {
			t.Fatal(err)
		}
	}
	if sp.Len() != n {
		t.Fatalf("spool holds %d, want %d", sp.Len(), n)
	}
	sp.Close()
	file := filepath.Join(spoolDir, spool.FileName)
	// Cut half the pages in use (the file may be larger: bbolt grows it
	// ahead).
	h, err := boltfile.Preflight(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, h.NeedBytes()/2); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runCmdTimeout(t, "probe", "--config", filepath.Join(dir, "probe.yaml"))
	t.Logf("jangkau probe:\n%s", stderr)
	if code != 1 || !strings.Contains(stderr, file) || !strings.Contains(stderr, "jangkau spool salvage --dir "+spoolDir+" --replace") {
		t.Fatalf("probe on a truncated spool: exit %d, stderr:\n%s\nwant exit 1 naming %s and the salvage command", code, stderr, file)
	}
	code, stdout, stderr := runCmd("spool", "salvage", "--config", filepath.Join(dir, "probe.yaml"), "--replace")
	if code != 0 {
		t.Fatalf("spool salvage: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("jangkau spool salvage:\n%s", stdout)
	sp, err = spool.Open(spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if sp.Len() == 0 || sp.Len() >= n || !strings.Contains(stdout, fmt.Sprintf("results %d)", sp.Len())) {
		t.Errorf("after salvage the spool holds %d of %d results; salvage said:\n%s", sp.Len(), n, stdout)
	}
}
