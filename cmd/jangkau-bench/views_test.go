package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// testDesa writes a 4×4 grid of square desa and loads it.
func testDesa(t *testing.T) (*region.Regions, string) {
	t.Helper()
	var fs []string
	for i := range 16 {
		x, y := 106+float64(i%4)*0.01, -6.2+float64(i/4)*0.01
		fs = append(fs, fmt.Sprintf(`{"type":"Feature","properties":{"kode":"99.01.01.20%02d","nama":"D%d"},`+
			`"geometry":{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}}`,
			i+1, i, x, y, x+0.01, y, x+0.01, y+0.01, x, y+0.01, x, y))
	}
	path := filepath.Join(t.TempDir(), "desa.geojson")
	if err := os.WriteFile(path, []byte(`{"type":"FeatureCollection","features":[`+strings.Join(fs, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := region.LoadFile(path, region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs, path
}

// allBatches is every gzip body the data set sends, probe by probe.
func allBatches(t *testing.T, d *viewsData) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range d.probes {
		if err := d.batches(i, 7, func(b wire.Batch) error {
			body, err := gzipBatch(b)
			out = append(out, body)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestViewsDataDeterministic(t *testing.T) {
	rs, _ := testDesa(t)
	anchor := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	mk := func(seed uint64) *viewsData {
		d, err := newViewsData(rs, 40, 40*30, seed, anchor, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, again, other := allBatches(t, mk(17)), allBatches(t, mk(17)), allBatches(t, mk(18))
	if len(a) == 0 || len(a) != len(again) {
		t.Fatalf("batches: %d and %d for the same seed", len(a), len(again))
	}
	for i := range a {
		if !bytes.Equal(a[i], again[i]) {
			t.Fatalf("batch %d differs between two data sets of seed 17", i)
		}
	}
	differ := len(a) != len(other)
	for i := 0; !differ && i < len(a); i++ {
		differ = !bytes.Equal(a[i], other[i])
	}
	if !differ {
		t.Error("seeds 17 and 18 give the same batches")
	}

	// Each probe sends its results once, in seq order, inside the window;
	// the probes are in several states, so statuses vary.
	d := mk(17)
	okShares := map[float64]bool{}
	for i := range d.probes {
		okShares[d.probes[i].okShare] = true
		if got := rs.Locate(d.where[i][1], d.where[i][0]); got == nil || got.Code != d.probes[i].cell.Region {
			t.Errorf("probe %d: its point %v is not inside its desa %s", i, d.where[i], d.probes[i].cell.Region)
		}
		var seq uint64
		d.batches(i, 7, func(b wire.Batch) error {
			for _, r := range b.Results {
				if seq++; r.Seq != seq {
					t.Fatalf("probe %d: seq %d after %d", i, r.Seq, seq-1)
				}
				if r.Time.Before(anchor.Add(-24*time.Hour)) || !r.Time.Before(anchor) {
					t.Fatalf("probe %d seq %d: time %s outside [anchor-24h, anchor)", i, r.Seq, r.Time)
				}
			}
			return nil
		})
		if seq != uint64(d.perProbe) {
			t.Errorf("probe %d sent %d results, want %d", i, seq, d.perProbe)
		}
	}
	if len(okShares) < 2 {
		t.Errorf("all 40 probes succeed alike (%v): statuses would not vary", okShares)
	}
}

func TestViewsRowsJudge(t *testing.T) {
	ok := viewFigures{InfluxCold: 2 * time.Second, InfluxRepeat: 100 * time.Millisecond, SameStatuses: true,
		EmbeddedCold: 500 * time.Millisecond, EmbeddedLive: 50 * time.Millisecond, LiveRate: 1900,
		PeerCold: 14 * time.Second, PeerRepeat: 10 * time.Second}
	cases := []struct {
		name string
		edit func(*viewFigures)
		miss int // the row that turns to MISS; -1 none
	}{
		{"all at their targets", func(*viewFigures) {}, -1},
		{"InfluxDB cold over 2 s", func(f *viewFigures) { f.InfluxCold = 2*time.Second + time.Millisecond; f.PeerCold = time.Minute }, 0},
		{"InfluxDB cold under 7× the peer", func(f *viewFigures) { f.PeerCold = 13900 * time.Millisecond }, 0},
		{"InfluxDB cold without a peer figure", func(f *viewFigures) { f.PeerCold = 0 }, 0},
		{"InfluxDB repeat over 100 ms", func(f *viewFigures) { f.InfluxRepeat = 101 * time.Millisecond }, 1},
		{"statuses differ", func(f *viewFigures) { f.SameStatuses = false }, 2},
		{"embedded cold over 0.5 s", func(f *viewFigures) { f.EmbeddedCold = 501 * time.Millisecond }, 3},
		{"embedded live repeat over 50 ms", func(f *viewFigures) { f.EmbeddedLive = 51 * time.Millisecond }, 4},
		{"embedded live repeat not measured", func(f *viewFigures) { f.EmbeddedLive = 0 }, 4},
		{"fewer than 1,900 results/s arrived", func(f *viewFigures) { f.LiveRate = 1899 }, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := ok
			tc.edit(&f)
			rows := viewsRows(f)
			if len(rows) != 5 {
				t.Fatalf("%d rows, want the issue's 5", len(rows))
			}
			table := formatViewsTable("view", rows)
			lines := strings.Split(strings.TrimSpace(table), "\n")
			if len(lines) != 2+len(rows) {
				t.Fatalf("table has %d lines, want header, rule and %d rows:\n%s", len(lines), len(rows), table)
			}
			for i, r := range rows {
				want := "PASS"
				if i == tc.miss {
					want = "MISS"
				}
				if r.Pass != (want == "PASS") {
					t.Errorf("row %q: pass %v, want %s (measured %s, %s)", r.View, r.Pass, want, r.Measured, r.VsPeer)
				}
				cells := strings.Split(strings.Trim(lines[2+i], "| "), " | ")
				if len(cells) != 5 || cells[0] != r.View || cells[4] != want {
					t.Errorf("table line %q: want 5 cells, %q first and %s last", lines[2+i], r.View, want)
				}
			}
		})
	}
}

func TestViewsFactorWording(t *testing.T) {
	if got := vsPeer(14*time.Second, 2*time.Second); got != "7.0× faster" {
		t.Errorf("14 s peer, 2 s ours: %q", got)
	}
	if got := vsPeer(time.Second, 4*time.Second); got != "4.0× slower" {
		t.Errorf("1 s peer, 4 s ours: %q", got)
	}
}

func TestStatusesIgnoreOrderNotValues(t *testing.T) {
	fc := func(fs ...string) []byte {
		return []byte(`{"type":"FeatureCollection","features":[` + strings.Join(fs, ",") + `]}`)
	}
	f := func(code, status string, samples int) string {
		return fmt.Sprintf(`{"type":"Feature","properties":{"code":%q,"status":%q,"samples":%d}}`, code, status, samples)
	}
	a, err := statuses(fc(f("36.01.01.2001", "good", 5), f("36.01.01.2002", "blank", 3)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := statuses(fc(f("36.01.01.2002", "blank", 4), f("36.01.01.2001", "good", 9)))
	c, _ := statuses(fc(f("36.01.01.2002", "degraded", 3), f("36.01.01.2001", "good", 5)))
	if !bytes.Equal(a, b) {
		t.Errorf("same statuses in another order: %s and %s", a, b)
	}
	if bytes.Equal(a, c) {
		t.Errorf("a changed status gives the same bytes: %s", a)
	}
	if _, err := statuses(fc()); err == nil {
		t.Error("an answer without features gives statuses")
	}
}
