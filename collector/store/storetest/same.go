package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// Collectors are a store under test as two collectors see it: two stores
// on the same data (two InfluxDB stores with different collector ids on one
// database). Settle is how long a write through one takes, at most, to show
// in the other's kept folds (its change poll).
type Collectors struct {
	First, Second store.Store
	Settle        time.Duration
}

// RunSame checks that a store gives the same rollups and the same coverage
// as a reference store (the embedded one) for the same results: duplicates
// resent, a batch resent to the second collector, results written through
// either, and late results into an hour already viewed. Coverage is read
// through the first collector with folds kept between views (the stores'
// RollupGeneration, as the collector wires it), so a late write through the
// second must reach the first's folds within Settle.
func RunSame(t *testing.T, ref func(t *testing.T) store.Store, subject func(t *testing.T) Collectors) {
	rs := sameRegions(t)
	want := ref(t)
	defer want.Close()
	got := subject(t)
	defer got.First.Close()
	defer got.Second.Close()
	wantE, gotE := newSameEngine(rs), newSameEngine(rs)
	wantF, gotF := feedOf(want), feedOf(got.First)

	a, b := sameProbeA(rs), sameProbeB(rs)
	steps := []struct {
		name   string
		writes []store.Write
		second []bool // written through the subject's second collector
	}{
		{"first batches", []store.Write{a.write(1, 120), b.write(1, 60)}, []bool{false, false}},
		{"duplicates and a batch resent to the other collector",
			// b's 81 falls in the minute of its 80: the first collector's
			// snapshot of that minute is newer than the second's.
			[]store.Write{a.write(50, 150), a.write(1, 30), b.write(40, 80), b.write(40, 80), b.write(81, 90)},
			[]bool{true, false, true, false, false}},
		{"late results into hours already viewed",
			[]store.Write{a.late(241, 260), b.late(91, 110), a.write(151, 180)}, []bool{true, true, true}},
	}
	for _, step := range steps {
		for i, w := range step.writes {
			write(t, want, w)
			st := got.First
			if step.second[i] {
				st = got.Second
			}
			write(t, st, w)
		}
		if step.second[len(step.second)-1] {
			time.Sleep(got.Settle)
		}
		for _, res := range []time.Duration{rollup.Minute, rollup.Hour} {
			w, g := rollupText(t, want, res), rollupText(t, got.First, res)
			if w != g {
				t.Errorf("after %s: %s rollups differ\nreference:\n%s\nstore under test:\n%s", step.name, res, w, g)
			}
			if strings.Count(w, "\n") < 5 {
				t.Fatalf("after %s: only %d %s rollup rows in the reference", step.name, strings.Count(w, "\n"), res)
			}
		}
		for _, win := range [][2]time.Time{{t0, t0.Add(3 * time.Hour)}, {t0.Add(7 * time.Minute), t0.Add(113 * time.Minute)}} {
			q := coverage.Query{From: win[0], To: win[1], Now: t0.Add(3 * time.Hour)}
			w, g := coverageJSON(t, wantE, wantF, q), coverageJSON(t, gotE, gotF, q)
			if w != g {
				t.Errorf("after %s, window %s..%s: coverage differs\nreference:\n%s\nstore under test:\n%s",
					step.name, win[0].Format("15:04"), win[1].Format("15:04"), w, g)
			}
		}
	}
}

// feedOf is the store's rollups as the collector feeds them to the engine
// (collector/readers.go storeFeed).
func feedOf(st store.Store) coverage.Feed {
	read := coverage.Source(func(ctx context.Context, res time.Duration, from, to time.Time, fn func(coverage.Row) error) error {
		return st.Rollups(ctx, res, from, to, func(b time.Time, c rollup.Cell, a *rollup.Agg) error {
			return fn(coverage.Row{Bucket: b, Res: res, Cell: c, Agg: a})
		})
	})
	if g, ok := st.(interface {
		RollupGeneration(res time.Duration, from, to time.Time) uint64
	}); ok {
		return coverage.NewGenerationSource(read, g.RollupGeneration)
	}
	return read
}

func sameRegions(t *testing.T) *region.Regions {
	t.Helper()
	sq := func(lon, lat, d float64) orb.Polygon {
		return orb.Polygon{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}
	}
	mk := func(code string, pop int64, p orb.Polygon) *region.Region {
		return &region.Region{Code: code, Name: "R" + code, Population: pop, PopulationKnown: true, Geometry: p}
	}
	rs, err := region.New([]*region.Region{
		mk("99.01.01", 3000, sq(106, -6, 0.01)),
		mk("99.01.02", 4000, sq(106.01, -6, 0.01)),
		mk("99.02.01", 5000, sq(106.02, -6, 0.01)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const sameZoom = 15

func newSameEngine(rs *region.Regions) *coverage.Engine {
	return coverage.NewEngine(rs, tile.NewIndex(rs), sameZoom, coverage.DefaultThresholds)
}

// sameProbe makes a probe's results: every 30 s from t0 by seq, http and
// icmp checks alternating, some failing, icmp with losses a float sums
// exactly in any order. A survey probe walks through three tiles of two
// regions.
type sameProbe struct {
	id, carrier string
	cells       []rollup.Cell // by seq % len
	locs        []wire.Location
}

func sameProbeA(rs *region.Regions) sameProbe {
	c := rs.Get("99.01.01").Bound.Center()
	return sameProbe{id: "a", carrier: "tsel", cells: []rollup.Cell{{Region: "99.01.01",
		Tile: tile.Quadkey(tile.At(c.Lat(), c.Lon(), sameZoom)), Carrier: "tsel", Probe: "a"}}}
}

func sameProbeB(rs *region.Regions) sameProbe {
	p := sameProbe{id: "b", carrier: "xl"}
	for _, code := range []string{"99.01.01", "99.01.02", "99.01.02"} {
		b := rs.Get(code).Bound
		ll := wire.Location{Lat: b.Min.Lat() + 0.002*float64(len(p.cells)+1), Lon: b.Min.Lon() + 0.003}
		p.locs = append(p.locs, ll)
		p.cells = append(p.cells, rollup.Cell{Region: code, Tile: tile.Quadkey(tile.At(ll.Lat, ll.Lon, sameZoom)), Carrier: "xl", Probe: "b"})
	}
	return p
}

func (p sameProbe) result(seq uint64, at time.Time) (wire.Result, rollup.Cell) {
	r := wire.Result{Seq: seq, Time: at, Check: "portal", Kind: wire.KindHTTP, Target: "http://127.0.0.1:9000/",
		Service: "perizinan", OK: seq%7 != 0 && (seq/20)%5 != 3, DurationMS: float64(20 + seq%13*17), StatusCode: 200}
	if seq%2 == 0 {
		r.Check, r.Kind, r.Service, r.Target, r.StatusCode = "gw", wire.KindICMP, "", "10.0.0.1", 0
		r.Phases = map[string]float64{"loss": float64(seq%3) * 0.25}
	}
	cell := p.cells[int(seq)%len(p.cells)]
	if len(p.locs) > 0 {
		l := p.locs[int(seq)%len(p.locs)]
		r.Location = &l
	}
	cell.Service, cell.Kind = r.Service, r.Kind
	if cell.Service == "" {
		cell.Service = rollup.Uplink
	}
	return r, cell
}

// write is seqs first..last at their times.
func (p sameProbe) write(first, last uint64) store.Write {
	w := store.Write{Probe: p.id, Received: t0.Add(3 * time.Hour)}
	for s := first; s <= last; s++ {
		r, c := p.result(s, t0.Add(time.Duration(s)*30*time.Second))
		w.Results, w.Cells = append(w.Results, r), append(w.Cells, c)
	}
	return w
}

// late is seqs first..last dated in the first hour, 08:10 on, as a
// probe's spool sends them after an outage.
func (p sameProbe) late(first, last uint64) store.Write {
	w := store.Write{Probe: p.id, Received: t0.Add(3 * time.Hour)}
	for s := first; s <= last; s++ {
		r, c := p.result(s, t0.Add(10*time.Minute+time.Duration(s-first)*20*time.Second+7*time.Second))
		w.Results, w.Cells = append(w.Results, r), append(w.Cells, c)
	}
	return w
}

// rollupText is every row of a resolution over the test's hours, one a
// line, in the order the store gives them.
func rollupText(t *testing.T, st store.Store, res time.Duration) string {
	t.Helper()
	var b strings.Builder
	err := st.Rollups(context.Background(), res, t0, t0.Add(3*time.Hour), func(bucket time.Time, c rollup.Cell, a *rollup.Agg) error {
		fmt.Fprintf(&b, "%s %+v count=%d ok=%d loss=%g/%d last=%d p50=%g p95=%g\n", bucket.UTC().Format("15:04"), c,
			a.Count, a.OK, a.LossSum, a.LossN, a.Last, a.Quantile(0.5), a.Quantile(0.95))
		return nil
	})
	if err != nil {
		t.Fatalf("Rollups(%s): %v", res, err)
	}
	return b.String()
}

// figs is what a view says of a region or a tile, NaN spelled out.
type figs struct {
	Status                string
	Samples               int
	Avail, Loss, P50, P95 string
}

func figsOf(st coverage.Status, samples int, avail, loss, p50, p95 float64) figs {
	g := func(v float64) string { return fmt.Sprintf("%.9g", v) }
	return figs{string(st), samples, g(avail), g(loss), g(p50), g(p95)}
}

// coverageJSON is the engine's region levels, tiles and services matrix
// for q, as JSON.
func coverageJSON(t *testing.T, e *coverage.Engine, f coverage.Feed, q coverage.Query) string {
	t.Helper()
	ctx := context.Background()
	probes := []coverage.Probe{{ID: "a", Region: "99.01.01", Carrier: "tsel", LastSeen: q.Now}, {ID: "b", Region: "99.01.02", Carrier: "xl", LastSeen: q.Now}}
	out := map[string]any{}
	for _, level := range []int{1, 2, 3} {
		cells, err := e.Regions(ctx, f, probes, level, q)
		if err != nil {
			t.Fatalf("Regions(level %d): %v", level, err)
		}
		m := map[string]figs{}
		for _, c := range cells {
			m[c.Region.Code] = figsOf(c.Status, c.Samples, c.Availability, c.Loss, c.P50, c.P95)
		}
		out[fmt.Sprintf("level%d", level)] = m
	}
	tiles, err := e.Tiles(ctx, f, sameZoom, orb.Bound{}, q)
	if err != nil {
		t.Fatalf("Tiles: %v", err)
	}
	tm := map[string]figs{}
	for _, c := range tiles {
		tm[c.Quadkey] = figsOf(c.Status, c.Samples, c.Availability, c.Loss, c.P50, c.P95)
	}
	out["tiles"] = tm
	sv, err := e.Services(ctx, f, 3, q)
	if err != nil {
		t.Fatalf("Services: %v", err)
	}
	out["services"] = fmt.Sprintf("%+v", *sv)
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
