package coverage

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

func square(lon, lat, size float64) orb.Polygon {
	return orb.Polygon{{{lon, lat}, {lon + size, lat}, {lon + size, lat + size}, {lon, lat + size}, {lon, lat}}}
}

// fixture: province 99 with kabupaten 99.01 (population 10,000, two equal
// kecamatan) and 99.02 (two kecamatan with their own populations).
func fixture(t *testing.T) *region.Regions {
	t.Helper()
	mk := func(code string, pop int64, p orb.Polygon) *region.Region {
		return &region.Region{Code: code, Name: "R" + code, Population: pop, PopulationKnown: pop > 0, Geometry: p}
	}
	rs, err := region.New([]*region.Region{
		mk("99.01.01", 0, square(100, 0, 0.1)),
		mk("99.01.02", 0, square(100.1, 0, 0.1)),
		mk("99.02.01", 3000, square(100.2, 0, 0.1)),
		mk("99.02.02", 4000, square(100.3, 0, 0.1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rs.Get("99.01").Population, rs.Get("99.01").PopulationKnown = 10000, true
	return rs
}

// rows is a store of rollups in memory, fed by the real aggregator.
type rows struct{ d rollup.Delta }

func (s *rows) add(cell rollup.Cell, r wire.Result) { s.d.Add(cell, &r) }

func (s *rows) source() Source {
	return func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
		var out []Row
		for k, a := range s.d {
			b := time.Unix(0, k.Bucket)
			if k.Res == res && !b.Before(from) && b.Before(to) {
				out = append(out, Row{Bucket: b, Res: res, Cell: k.Cell, Agg: a})
			}
		}
		slices.SortFunc(out, func(a, b Row) int { return a.Bucket.Compare(b.Bucket) })
		for _, r := range out {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// feed adds one result every 30 s for the last span before now.
func feed(s *rows, cell rollup.Cell, span time.Duration, ok func(i int, at time.Time) bool, ms func(i int) float64) int {
	n := 0
	for at := now.Add(-span); at.Before(now); at = at.Add(30 * time.Second) {
		s.add(cell, wire.Result{Time: at, OK: ok(n, at), DurationMS: ms(n), Kind: cell.Kind})
		n++
	}
	return n
}

func always(int, time.Time) bool { return true }
func never(int, time.Time) bool  { return false }
func flat(v float64) func(int) float64 {
	return func(int) float64 { return v }
}

func byCode(cells []RegionCell) map[string]RegionCell {
	m := map[string]RegionCell{}
	for _, c := range cells {
		m[c.Region.Code] = c
	}
	return m
}

func newEngine(t *testing.T) *Engine {
	rs := fixture(t)
	return NewEngine(rs, tile.NewIndex(rs), 15, DefaultThresholds)
}

func TestRegionsStatusesAndRollUp(t *testing.T) {
	e := newEngine(t)
	s := &rows{rollup.Delta{}}
	good := rollup.Cell{Region: "99.01.01", Tile: tile.Quadkey(tile.At(0.05, 100.05, 15)), Service: rollup.Uplink, Kind: "http", Probe: "a"}
	blank := rollup.Cell{Region: "99.01.02", Service: rollup.Uplink, Kind: "tcp", Probe: "b"}
	// Three hours: the window reads whole hours from hour rows and the
	// edges from minute rows; every result must count once.
	nGood := feed(s, good, 3*time.Hour, always, func(i int) float64 { return float64(10 + i%50) })
	nBlank := feed(s, blank, 3*time.Hour, func(i int, _ time.Time) bool { return i%5 == 0 }, flat(5))
	probes := []Probe{{ID: "a", Region: "99.01.01", LastSeen: now}, {ID: "b", Region: "99.01.02", LastSeen: now}}
	q := Query{From: now.Add(-150*time.Minute - 30*time.Second), To: now, Now: now}

	cells, err := e.Regions(context.Background(), s.source(), probes, 3, q)
	if err != nil {
		t.Fatal(err)
	}
	m := byCode(cells)
	// 150 minutes and 30 s; the start truncated to the minute: 151 minutes,
	// two results a minute.
	if g := m["99.01.01"]; g.Status != StatusGood || g.Samples != 302 || g.Availability != 1 || g.Probes != 1 {
		t.Errorf("good kecamatan: %+v (fed %d)", g, nGood)
	}
	if b := m["99.01.02"]; b.Status != StatusBlank || b.Samples != 302 || math.Abs(b.Availability-60.0/302) > 1e-9 { // results 58..359, every fifth ok
		t.Errorf("blank kecamatan: %+v (fed %d)", b, nBlank)
	}
	if u := m["99.02.01"]; u.Status != StatusUnmeasured || u.Samples != 0 || !math.IsNaN(u.P95) {
		t.Errorf("kecamatan without probes: %+v", u)
	}
	// Exact p95 of the good probe's latencies 10..59 repeating: 57.
	if p := m["99.01.01"].P95; math.Abs(p-57)/57 > rollup.Accuracy {
		t.Errorf("p95 %g, want 57 within 1%%", p)
	}
	// People affected: the blank kecamatan is half of 99.01's area.
	if b := m["99.01.02"]; !b.PopulationEstimated || b.PeopleAffected != 5000 {
		t.Errorf("blank kecamatan: population %d (estimated %v), affected %d, want 5000 estimated", b.Population, b.PopulationEstimated, b.PeopleAffected)
	}
	// The tile of the good probe is measured; its kecamatan has several.
	if g := m["99.01.01"]; g.MeasuredTiles != 1 || g.Tiles < 4 {
		t.Errorf("measured %d of %d tiles", g.MeasuredTiles, g.Tiles)
	}

	cells, _ = e.Regions(context.Background(), s.source(), probes, 2, q)
	k := byCode(cells)["99.01"]
	if k.Samples != 604 || k.Probes != 2 || k.Status != StatusDegraded || k.PeopleAffected != 5000 || k.Population != 10000 {
		t.Errorf("kabupaten roll-up: %+v", k)
	}
	cells, _ = e.Regions(context.Background(), s.source(), probes, 1, q)
	// The province's own population is unknown here (99.01's was set after
	// region.New summed the kecamatan); people affected still add up.
	if p := byCode(cells)["99"]; p.Samples != 604 || p.PeopleAffected != 5000 || p.PopulationKnown {
		t.Errorf("province: samples %d affected %d population %d", p.Samples, p.PeopleAffected, p.Population)
	}
}

func TestSilentOnlyWhileLive(t *testing.T) {
	e := newEngine(t)
	s := &rows{rollup.Delta{}}
	c := rollup.Cell{Region: "99.02.01", Service: rollup.Uplink, Kind: "tcp", Probe: "a"}
	feed(s, c, time.Hour, always, flat(3))
	probes := []Probe{{ID: "a", Region: "99.02.01", LastSeen: now.Add(-10 * time.Minute)}}
	live := Query{From: now.Add(-15 * time.Minute), To: now, Now: now}
	cells, _ := e.Regions(context.Background(), s.source(), probes, 3, live)
	m := byCode(cells)
	if st := m["99.02.01"].Status; st != StatusSilent {
		t.Errorf("probe quiet for 10 min, live window: %s, want silent", st)
	}
	if a := m["99.02.01"].PeopleAffected; a != 3000 {
		t.Errorf("silent kecamatan affects %d, want its 3000", a)
	}
	past := Query{From: now.Add(-time.Hour), To: now.Add(-30 * time.Minute), Now: now}
	cells, _ = e.Regions(context.Background(), s.source(), probes, 3, past)
	if st := byCode(cells)["99.02.01"].Status; st != StatusGood {
		t.Errorf("a past window is judged by its results: %s, want good", st)
	}
}

// TestServiceOutageIsNotADistrictOutage: an e-service fails from three of
// four regions for ten minutes; their uplinks are fine. The regions stay
// good, the services view shows the outage. A fourth region whose every
// check fails while the others reach the service is blank.
func TestServiceOutageIsNotADistrictOutage(t *testing.T) {
	e := newEngine(t)
	s := &rows{rollup.Delta{}}
	down := func(_ int, at time.Time) bool {
		return at.Before(now.Add(-12*time.Minute)) || !at.Before(now.Add(-2*time.Minute))
	}
	var probes []Probe
	for i, code := range []string{"99.01.01", "99.01.02", "99.02.01"} {
		id := string(rune('a' + i))
		probes = append(probes, Probe{ID: id, Region: code, LastSeen: now})
		feed(s, rollup.Cell{Region: code, Service: "portal", Kind: "http", Probe: id}, 30*time.Minute, down, flat(20))
		feed(s, rollup.Cell{Region: code, Service: rollup.Uplink, Kind: "tcp", Probe: id}, 30*time.Minute, always, flat(2))
	}
	cut := rollup.Cell{Region: "99.02.02", Service: "portal", Kind: "http", Probe: "d"}
	feed(s, cut, 30*time.Minute, never, flat(0))
	feed(s, rollup.Cell{Region: "99.02.02", Service: rollup.Uplink, Kind: "tcp", Probe: "d"}, 30*time.Minute, never, flat(0))
	probes = append(probes, Probe{ID: "d", Region: "99.02.02", LastSeen: now})
	q := Query{From: now.Add(-30 * time.Minute), To: now, Now: now}

	cells, err := e.Regions(context.Background(), s.source(), probes, 3, q)
	if err != nil {
		t.Fatal(err)
	}
	m := byCode(cells)
	for _, code := range []string{"99.01.01", "99.01.02", "99.02.01"} {
		if c := m[code]; c.Status != StatusGood || c.Availability != 1 {
			t.Errorf("%s during the portal's outage: %s, availability %g; want good, 1", code, c.Status, c.Availability)
		}
	}
	if st := m["99.02.02"].Status; st != StatusBlank {
		t.Errorf("region whose every check fails: %s, want blank", st)
	}
	v, err := e.Services(context.Background(), s.source(), 3, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []Outage{{Service: "portal", From: now.Add(-12 * time.Minute), To: now.Add(-2 * time.Minute)}}
	if !slices.Equal(v.Outages, want) {
		t.Errorf("outages %v, want %v", v.Outages, want)
	}
	if !slices.Equal(v.Services, []string{"portal", rollup.Uplink}) {
		t.Errorf("services %v", v.Services)
	}
	for _, c := range v.Cells {
		if c.Service == "portal" && c.Region == "99.01.01" && math.Abs(c.Availability-40.0/60) > 1e-9 {
			t.Errorf("services view keeps the outage: availability %g, want 40/60", c.Availability)
		}
	}
}

func TestFiltersAndTiles(t *testing.T) {
	e := newEngine(t)
	s := &rows{rollup.Delta{}}
	qkA := tile.Quadkey(tile.At(0.05, 100.05, 15))
	qkB := tile.Quadkey(tile.At(0.05, 100.35, 15))
	feed(s, rollup.Cell{Region: "99.01.01", Tile: qkA, Carrier: "telkom", Service: rollup.Uplink, Kind: "icmp", Probe: "a"}, 10*time.Minute, always, flat(40))
	feed(s, rollup.Cell{Region: "99.02.02", Tile: qkB, Carrier: "xl", Service: rollup.Uplink, Kind: "icmp", Probe: "b"}, 10*time.Minute, never, flat(0))
	q := Query{From: now.Add(-10 * time.Minute), To: now, Now: now}

	tiles, err := e.Tiles(context.Background(), s.source(), 15, orb.Bound{}, q)
	if err != nil || len(tiles) != 2 {
		t.Fatalf("tiles: %v %+v", err, tiles)
	}
	for _, tc := range tiles {
		want := map[string]Status{qkA: StatusGood, qkB: StatusBlank}[tc.Quadkey]
		if tc.Status != want || tc.Samples != 20 || tc.Probes != 1 {
			t.Errorf("tile %s: %+v, want %s with 20 samples", tc.Quadkey, tc, want)
		}
	}
	// Coarser zoom: quadkey prefixes merge both.
	tiles, _ = e.Tiles(context.Background(), s.source(), 8, orb.Bound{}, q)
	if len(tiles) != 1 || tiles[0].Samples != 40 || tiles[0].Quadkey != qkA[:8] {
		t.Errorf("zoom 8: %+v", tiles)
	}
	// A bound around the first only.
	tiles, _ = e.Tiles(context.Background(), s.source(), 15, orb.Bound{Min: orb.Point{100, 0}, Max: orb.Point{100.1, 0.1}}, q)
	if len(tiles) != 1 || tiles[0].Quadkey != qkA {
		t.Errorf("bbox: %+v", tiles)
	}
	if _, err := e.Tiles(context.Background(), s.source(), 16, orb.Bound{}, q); err == nil {
		t.Error("zoom finer than kept: no error")
	}
	// Carrier filter.
	q.Carrier = "xl"
	cells, _ := e.Regions(context.Background(), s.source(), nil, 2, q)
	m := byCode(cells)
	if m["99.01"].Samples != 0 || m["99.02"].Samples != 20 {
		t.Errorf("carrier xl: 99.01 %d samples, 99.02 %d", m["99.01"].Samples, m["99.02"].Samples)
	}
}
