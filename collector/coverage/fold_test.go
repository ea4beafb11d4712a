package coverage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// measured is one result with where it was measured.
type measured struct {
	cell rollup.Cell
	r    wire.Result
}

// busyDay makes five hours of results before now from five probes on two
// carriers, with uplink, portal and pajak checks of several kinds, packet
// loss, latencies that spread, and outages: pajak down from every region
// for the whole hour 10:00 (an outage at hour resolution), portal down for
// ten minutes near each end of the day (at minute resolution).
func busyDay() []measured {
	qk := func(lat, lon float64) string { return tile.Quadkey(tile.At(lat, lon, 15)) }
	type pr struct {
		id, region, carrier, tile string
		ok                        float64
	}
	probes := []pr{
		{"a", "99.01.01", "telkom", qk(0.05, 100.05), 0.99},
		{"b", "99.01.02", "xl", qk(0.05, 100.15), 0.5},
		{"c", "99.02.01", "telkom", "", 0.95},
		{"d", "99.02.02", "xl", qk(0.05, 100.35), 0.97},
		{"e", "99.02.02", "telkom", qk(0.02, 100.32), 0.9}, // survey: same desa, another tile
	}
	checks := []struct{ kind, service string }{
		{wire.KindICMP, rollup.Uplink}, {wire.KindTCP, rollup.Uplink},
		{wire.KindHTTP, "portal"}, {wire.KindHTTP, "pajak"},
	}
	rng := rand.New(rand.NewPCG(7, 9))
	var out []measured
	for pi, p := range probes {
		for ci, c := range checks {
			cell := rollup.Cell{Region: p.region, Tile: p.tile, Carrier: p.carrier, Service: c.service, Kind: c.kind, Probe: p.id}
			var seq uint64
			for at := now.Add(-5 * time.Hour).Add(time.Duration(pi*3+ci) * time.Second); at.Before(now); at = at.Add(20 * time.Second) {
				ok := rng.Float64() < p.ok
				switch {
				case c.service == "pajak" && !at.Before(now.Add(-2*time.Hour)) && at.Before(now.Add(-time.Hour)):
					ok = false
				case c.service == "portal" && (inside(at, now.Add(-4*time.Hour-50*time.Minute), 10*time.Minute) ||
					inside(at, now.Add(-17*time.Minute), 10*time.Minute)):
					ok = false
				}
				seq++
				r := wire.Result{Seq: seq, Time: at, Kind: c.kind, Service: c.service, OK: ok,
					DurationMS: math.Round(20 * math.Exp(rng.NormFloat64()) * float64(1+pi))}
				if c.kind == wire.KindICMP {
					// Quarters add up exactly in any order.
					r.Phases = map[string]float64{"loss": float64(rng.IntN(5)) / 4}
				}
				out = append(out, measured{cell, r})
			}
		}
	}
	return out
}

func inside(t, from time.Time, d time.Duration) bool { return !t.Before(from) && t.Before(from.Add(d)) }

func (s *rows) addAll(ms []measured) {
	for _, m := range ms {
		s.add(m.cell, m.r)
	}
}

// foldCases are windows (edges, hours, both, unaligned) and filters.
func foldCases() []Query {
	windows := []Query{
		{From: now.Add(-4*time.Hour - 55*time.Minute - 30*time.Second), To: now.Add(-7 * time.Minute)},
		{From: now.Add(-40 * time.Minute), To: now},
		{From: now.Add(-3 * time.Hour), To: now},
		{From: now.Add(-2*time.Hour - 3*time.Minute), To: now.Add(-58 * time.Minute)},
	}
	var out []Query
	for _, w := range windows {
		for _, f := range []struct{ carrier, service string }{{"", ""}, {"xl", ""}, {"", "portal"}, {"telkom", rollup.Uplink}} {
			q := w
			q.Now, q.Carrier, q.Service = now, f.carrier, f.service
			out = append(out, q)
		}
	}
	return out
}

func same(a, b any) bool { return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b) } // NaN != NaN for DeepEqual

// TestFoldedAnswersEqualTheRowByRowOnes: the region and services views
// at every level and the tiles at two zooms, from a plain Source (one fold per view) and
// from a GenerationSource (segments kept, asked twice), equal the answers
// computed row by row.
func TestFoldedAnswersEqualTheRowByRowOnes(t *testing.T) {
	e := newEngine(t)
	s := &rows{rollup.Delta{}}
	s.addAll(busyDay())
	probes := []Probe{{ID: "a", Region: "99.01.01", Carrier: "telkom", LastSeen: now}, {ID: "b", Region: "99.01.02", Carrier: "xl", LastSeen: now},
		{ID: "c", Region: "99.02.01", Carrier: "telkom", LastSeen: now.Add(-time.Hour)}, {ID: "d", Region: "99.02.02", Carrier: "xl", LastSeen: now}}
	ctx := context.Background()
	gs := NewGenerationSource(s.source(), func(time.Duration, time.Time, time.Time) uint64 { return 1 })
	checked := map[Status]bool{}
	for _, q := range foldCases() {
		name := fmt.Sprintf("%s..%s carrier=%q service=%q", q.From.Format("15:04:05"), q.To.Format("15:04"), q.Carrier, q.Service)
		t.Run(name, func(t *testing.T) {
			for _, level := range []int{1, 2, 3} {
				want, err := e.refRegions(ctx, s.source(), probes, level, q)
				if err != nil {
					t.Fatal(err)
				}
				for i, src := range []Feed{s.source(), gs, gs} {
					got, err := e.Regions(ctx, src, probes, level, q)
					if err != nil {
						t.Fatal(err)
					}
					if !same(got, want) {
						t.Fatalf("level %d, feed %d:\n got %+v\nwant %+v", level, i, got, want)
					}
				}
				for _, c := range want {
					checked[c.Status] = true
				}
			}
			for _, level := range []int{1, 2, 3} {
				want, err := e.refServices(ctx, s.source(), level, q)
				if err != nil {
					t.Fatal(err)
				}
				for i, src := range []Feed{s.source(), gs, gs} {
					got, err := e.Services(ctx, src, level, q)
					if err != nil {
						t.Fatal(err)
					}
					if !same(got, want) {
						t.Fatalf("services level %d, feed %d:\n got %+v\nwant %+v", level, i, got, want)
					}
				}
			}
			for _, z := range []int{15, 12} {
				want, err := e.refTiles(ctx, s.source(), z, q)
				if err != nil {
					t.Fatal(err)
				}
				for i, src := range []Feed{s.source(), gs} {
					got, err := e.Tiles(ctx, src, z, emptyBound, q)
					if err != nil {
						t.Fatal(err)
					}
					if !same(got, want) {
						t.Fatalf("tiles z%d, feed %d:\n got %+v\nwant %+v", z, i, got, want)
					}
				}
			}
		})
	}
	// The fixture must tell statuses apart, or equal answers prove little.
	for _, st := range []Status{StatusGood, StatusBlank, StatusUnmeasured} {
		if !checked[st] {
			t.Errorf("no region was %s in any case", st)
		}
	}
}

// TestSegmentsCoverTheWindowOnce: the segments of a window are its
// rollup.Plan spans, in order, without gap or overlap, cut only at block
// boundaries, except for the newest block, cut into its minutes.
func TestSegmentsCoverTheWindowOnce(t *testing.T) {
	const block = blockMinutes * time.Minute
	for _, q := range foldCases() {
		plan := rollup.Plan(q.From, q.To)
		segs, newest := segments(q.From, q.To)
		if segs[0].From != plan[0].From || segs[len(segs)-1].To != plan[len(plan)-1].To {
			t.Errorf("%v: segments %v, plan %v", q.From, segs, plan)
		}
		edges := map[time.Time]bool{}
		for _, sp := range plan {
			edges[sp.From], edges[sp.To] = true, true
		}
		for i, sp := range segs {
			if i > 0 && sp.From != segs[i-1].To {
				t.Errorf("%v: gap or overlap at %d: %v", q.From, i, segs)
			}
			if i > 0 && i <= newest && !edges[sp.From] && sp.From.Truncate(block) != sp.From {
				t.Errorf("%v: a cut off the block boundaries at %d: %v", q.From, i, segs)
			}
			if i >= newest && (sp.Res != rollup.Minute || sp.To.Sub(sp.From) != time.Minute || sp.From.Truncate(block) != segs[len(segs)-1].From.Truncate(block)) {
				t.Errorf("%v: segment %d of the newest block is not one of its minutes: %v", q.From, i, segs)
			}
		}
		if last := plan[len(plan)-1]; last.Res == rollup.Minute && newest == len(segs) {
			t.Errorf("%v: no newest block in %v", q.From, segs)
		}
		if len(segs) > len(plan)+2+blockMinutes {
			t.Errorf("%v: %d segments for %d spans", q.From, len(segs), len(plan))
		}
	}
}

var emptyBound orb.Bound

// A fold of a one-bucket span made again from its previous fold lists
// exactly the cells that differ: added, changed, gone, or moved between
// kept and set apart (an outage that began); the others share the
// previous fold's aggregates.
func TestRefoldListsChangedCells(t *testing.T) {
	e := newEngine(t)
	bucket := now.Truncate(time.Minute).Add(-time.Minute)
	sp := rollup.Span{From: bucket, To: bucket.Add(time.Minute), Res: rollup.Minute}
	cell := func(probe, service string) rollup.Cell {
		return rollup.Cell{Region: "99.01.0" + probe, Carrier: "xl", Service: service, Kind: wire.KindHTTP, Probe: probe}
	}
	agg := func(n int, ok bool) *rollup.Agg {
		a := rollup.NewAgg()
		for i := range n {
			a.Add(&wire.Result{Time: bucket.Add(time.Duration(i) * time.Second), Kind: wire.KindHTTP, OK: ok, DurationMS: float64(20 + i)})
		}
		return a
	}
	src := func(rows map[rollup.Cell]*rollup.Agg) Source {
		return func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
			for c, a := range rows {
				if err := fn(Row{Bucket: bucket, Res: rollup.Minute, Cell: c, Agg: a}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	same, grown, gone, added := cell("1", rollup.Uplink), cell("2", rollup.Uplink), cell("3", rollup.Uplink), cell("4", rollup.Uplink)
	// The portal, checked from three regions: down at the bucket's end
	// once all three fail (an outage), so its cells are set apart.
	down := []rollup.Cell{cell("1", "portal"), cell("2", "portal"), cell("3", "portal")}
	before := map[rollup.Cell]*rollup.Agg{same: agg(3, true), grown: agg(2, true), gone: agg(1, true)}
	after := map[rollup.Cell]*rollup.Agg{same: agg(3, true), grown: agg(3, true), added: agg(1, true)}
	for _, c := range down {
		before[c], after[c] = agg(2, true), agg(4, false)
	}
	ctx := context.Background()
	q := Query{From: sp.From, To: sp.To, Now: now}
	prev, err := e.foldSpan(ctx, src(before), sp, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(prev.kept) != 6 || len(prev.out) != 0 {
		t.Fatalf("first fold: %d kept, %d set apart; want 6, 0", len(prev.kept), len(prev.out))
	}
	s, err := e.foldSpan(ctx, src(after), sp, q, prev)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.out) != len(down) {
		t.Fatalf("the portal's cells were not set apart: %d kept, %d set apart", len(s.kept), len(s.out))
	}
	got := map[rollup.Cell]int{}
	for _, c := range s.diff {
		got[c]++
	}
	for _, c := range append([]rollup.Cell{grown, gone, added}, down...) {
		if got[c] == 0 {
			t.Errorf("%s %s: not listed as changed", c.Service, c.Probe)
		}
	}
	if got[same] > 0 {
		t.Errorf("the unchanged cell is listed as changed")
	}
	if s.from != prev.id || s.kept[same] != prev.kept[same] {
		t.Errorf("the unchanged cell does not share the previous fold's aggregate")
	}
	// A fresh fold of the same rows holds the same aggregates.
	fresh, err := e.foldSpan(ctx, src(after), sp, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]cellFold{{s.kept, fresh.kept}, {s.out, fresh.out}} {
		if len(m[0]) != len(m[1]) {
			t.Fatalf("%d cells, a fresh fold %d", len(m[0]), len(m[1]))
		}
		for c, a := range m[1] {
			if !a.Equal(m[0][c]) {
				t.Errorf("%s: differs from a fresh fold", c.Probe)
			}
		}
	}
}
