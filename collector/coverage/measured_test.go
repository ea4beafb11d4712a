package coverage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/tile"
)

// TestMeasuredShare: one blank and one good kecamatan of four say, at
// every level above, how many of the deepest regions were measured and
// how many people live in them, and people affected count only measured
// people; where no population is known, the blank kecamatan is counted as
// unknown, never as 0 people.
func TestMeasuredShare(t *testing.T) {
	run := func(t *testing.T, e *Engine, level int) map[string]RegionCell {
		s := &rows{rollup.Delta{}}
		feed(s, rollup.Cell{Region: "99.01.02", Service: rollup.Uplink, Kind: "tcp", Probe: "b"}, time.Hour, never, flat(5))
		feed(s, rollup.Cell{Region: "99.02.01", Service: rollup.Uplink, Kind: "tcp", Probe: "g"}, time.Hour, always, flat(5))
		probes := []Probe{{ID: "b", Region: "99.01.02", LastSeen: now}, {ID: "g", Region: "99.02.01", LastSeen: now}}
		cells, err := e.Regions(context.Background(), s.source(), probes, level, Query{From: now.Add(-time.Hour), To: now, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return byCode(cells)
	}
	type want struct {
		measured, areas             int
		people, affected            int64
		peopleUnknown, affectedUnkn int
	}
	check := func(t *testing.T, m map[string]RegionCell, code string, w want) {
		t.Helper()
		c, ok := m[code]
		if !ok {
			t.Fatalf("no cell for %s", code)
		}
		got := want{c.MeasuredAreas, c.Areas, c.MeasuredPeople, c.PeopleAffected, c.MeasuredPeopleUnknown, c.AffectedUnknown}
		if got != w {
			t.Errorf("%s: %+v, want %+v", code, got, w)
		}
	}
	t.Run("population known", func(t *testing.T) {
		e := newEngine(t)
		// 99.01's 10,000 people, estimated half per kecamatan; 99.02.01 has 3,000.
		check(t, run(t, e, 1), "99", want{2, 4, 8000, 5000, 0, 0})
		m := run(t, e, 2)
		check(t, m, "99.01", want{1, 2, 5000, 5000, 0, 0})
		check(t, m, "99.02", want{1, 2, 3000, 0, 0, 0})
		m = run(t, e, 3)
		check(t, m, "99.01.02", want{1, 1, 5000, 5000, 0, 0})
		check(t, m, "99.01.01", want{0, 1, 0, 0, 0, 0})
	})
	t.Run("population unknown", func(t *testing.T) {
		rs := fixture(t)
		rs.Get("99.01").PopulationKnown = false
		e := NewEngine(rs, tile.NewIndex(rs), 15, DefaultThresholds)
		check(t, run(t, e, 2), "99.01", want{1, 2, 0, 0, 1, 1})
	})
}

// TestPrepareCovers: a collector computes every level's tile cover at
// start, so that no first view pays it; a level whose cover cannot be
// computed is an error naming the level, not a panic.
func TestPrepareCovers(t *testing.T) {
	rs := fixture(t)
	ix := tile.NewIndex(rs)
	e := NewEngine(rs, ix, 15, DefaultThresholds)
	levels := rs.Levels()
	if len(levels) < 2 {
		t.Fatalf("the fixture has levels %v; the test wants several", levels)
	}
	for _, l := range levels {
		if ix.Ready(l, 15) {
			t.Fatalf("level %d's cover is ready before PrepareCovers: the check below would prove nothing", l)
		}
	}
	if err := e.PrepareCovers(); err != nil {
		t.Fatal(err)
	}
	for _, l := range levels {
		if !ix.Ready(l, 15) {
			t.Errorf("level %d's cover is not ready after PrepareCovers", l)
		}
	}

	tooFine := NewEngine(rs, tile.NewIndex(rs), tile.MaxZoom, DefaultThresholds)
	if err := tooFine.PrepareCovers(); err == nil || !strings.Contains(err.Error(), "level 1") {
		t.Errorf("covers at zoom %d: err %v, want one naming level 1", tile.MaxZoom, err)
	}
}
