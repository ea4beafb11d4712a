//go:build !probeonly

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/geotest"
)

// TestEvidenceCLI runs `jangkau evidence import` and `layers` against a
// real collector on Banten's desa: the fixtures are stored in
// data_dir/evidence.db, a file with a bad last row is refused whole with
// the line named, and a read-only viewer is refused.
func TestEvidenceCLI(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	regions := geotest.File(t, "banten-adm4.geojson")
	write(t, filepath.Join(dir, "collector.yaml"), fmt.Sprintf(`listen: %s
data_dir: ./data
regions: {file: %q}
viewers:
  - {name: planner, key_sha256: %q}
  - {name: officer, key_sha256: %q, import: true}
`, addr, regions, sum("read-key"), sum("import-key")))
	write(t, filepath.Join(dir, "import.key"), "import-key\n")
	write(t, filepath.Join(dir, "read.key"), "read-key\n")
	cfg, err := collector.LoadConfig(filepath.Join(dir, "collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.DiscardHandler)
	go func() {
		done <- collector.Run(ctx, cfg, log, func(ctx context.Context) (store.Store, error) { return openStore(ctx, cfg, log) })
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("collector: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	waitListening(t, addr, done, 3*time.Minute)

	fixtures := filepath.Join("..", "..", "collector", "evidence", "importer", "testdata")
	podes := filepath.Join(fixtures, "podes-2024.csv")
	podesData, err := os.ReadFile(podes)
	if err != nil {
		t.Fatal(err)
	}
	podesRows := bytes.Count(podesData, []byte("\n")) - 1
	ooklaCSV, err := os.ReadFile(filepath.Join(fixtures, "ookla-mobile-2024q3.csv"))
	if err != nil {
		t.Fatal(err)
	}
	ooklaRows := bytes.Count(ooklaCSV, []byte("\n")) - 1
	bad := filepath.Join(dir, "podes-bad.csv")
	write(t, bad, string(podesData)+"36029999,Nowhere,sinyal kuat,4G/LTE\n")

	jangkau := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	common := []string{"--collector", "http://" + addr, "--key-file", filepath.Join(dir, "import.key")}
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"podes", append(append([]string{"evidence", "import"}, common...), "--id", "podes-2024", "--kind", "podes",
			"--source", "BPS (Podes 2024)", "--licence", "BPS terms of use", "--date", "2024-05-01", podes),
			0, fmt.Sprintf("stored layer podes-2024 version 1: %d rows (podes, csv), 1 outside", podesRows)},
		{"ookla parquet", append(append([]string{"evidence", "import"}, common...), "--id", "ookla-mobile-2024q3", "--kind", "ookla",
			"--network", "mobile", "--source", "Ookla", "--licence", "CC BY-NC-SA 4.0", "--date", "2024-07-01",
			filepath.Join(fixtures, "ookla-mobile-2024q3.parquet")),
			0, fmt.Sprintf("stored layer ookla-mobile-2024q3 version 1: %d rows (ookla, parquet)", ooklaRows)},
		{"a bad last row", append(append([]string{"evidence", "import"}, common...), "--id", "podes-bad", "--kind", "podes",
			"--source", "BPS", "--licence", "BPS terms of use", "--date", "2024-05-01", bad),
			1, fmt.Sprintf("line %d, kode_desa \"36029999\"", podesRows+2)},
		{"a read-only viewer", []string{"evidence", "import", "--collector", "http://" + addr, "--key-file", filepath.Join(dir, "read.key"),
			"--id", "podes-ro", "--kind", "podes", "--source", "BPS", "--licence", "x", "--date", "2024-05-01", podes},
			1, "403"},
		{"layers", append([]string{"evidence", "layers"}, common...), 0, "ookla-mobile-2024q3"},
	} {
		code, out, errOut := jangkau(tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.says) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d saying %q", tc.name, code, out, errOut, tc.code, tc.says)
		}
	}

	// What the collector stored, read from its file once it has stopped.
	stop()
	ev, err := evidence.OpenFile(filepath.Join(dir, "data", evidence.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	ls, err := ev.Layers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, l := range ls {
		got[l.ID] = l.Rows
	}
	if len(got) != 2 || got["podes-2024"] != podesRows || got["ookla-mobile-2024q3"] != ooklaRows {
		t.Errorf("evidence.db holds %v; want podes-2024 (%d rows) and ookla-mobile-2024q3 (%d rows), nothing of the refused files", got, podesRows, ooklaRows)
	}
	for _, id := range []string{"podes-bad", "podes-ro"} {
		if _, err := ev.Versions(context.Background(), id); !errors.Is(err, evidence.ErrNotFound) {
			t.Errorf("%s: %v; want not found", id, err)
		}
	}
}
