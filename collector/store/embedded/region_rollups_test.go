package embedded

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/synth"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// regionWorld is a small synthetic country, a store, and the probes that
// write into it.
type regionWorld struct {
	t       *testing.T
	st      *Store
	regions *region.Regions
	country *synth.Country
	seqs    map[string]uint64
	sent    map[string][]store.Write // every write, to resend
	rng     *rand.Rand
}

var regionNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newRegionWorld(t *testing.T) *regionWorld {
	t.Helper()
	c, err := synth.Generate(synth.Options{Seed: 5, Provinces: 2, Kabupaten: 4, Kecamatan: 8, Desa: 48})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteGeoJSON(&buf, synth.WriteOptions{Levels: []int{1, 2, 3, 4}}); err != nil {
		t.Fatal(err)
	}
	rs, err := region.Load(&buf, region.LoadOptions{PopulationProperty: "penduduk"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &regionWorld{t: t, st: st, regions: rs, country: c, seqs: map[string]uint64{}, sent: map[string][]store.Write{},
		rng: rand.New(rand.NewPCG(5, 17))}
}

// probeAt is a probe standing in desa i, measuring there (or, for a
// survey probe, in the desa it passes).
type probeAt struct {
	id    string
	desa  int
	class int // 0 healthy, 1 flaky, 2 down
}

var regionChecks = []struct{ kind, service string }{
	{wire.KindTCP, rollup.Uplink}, {wire.KindICMP, rollup.Uplink}, {wire.KindDNS, rollup.Uplink},
	{wire.KindHTTP, "pajak"}, {wire.KindHTTP, "dukcapil"},
}

// write sends one batch of p's checks at each of times, measured in desa
// (p's own unless survey), with service "pajak" failing everywhere in the
// times that down says.
func (w *regionWorld) write(p probeAt, desa int, times []time.Time, down func(time.Time) bool) store.Write {
	w.t.Helper()
	d := w.country.Levels[4][desa]
	ctr := w.country.CellCenter(d.Cells.X0, d.Cells.Y0)
	qk := tile.Quadkey(tile.At(ctr[1], ctr[0], 15))
	wr := store.Write{Probe: p.id, FirstSeq: w.seqs[p.id] + 1, Received: regionNow}
	for _, at := range times {
		for _, c := range regionChecks {
			w.seqs[p.id]++
			ok := w.rng.Float64() >= [...]float64{0.02, 0.4, 1}[p.class]
			if c.service == "pajak" && down(at) {
				ok = false
			}
			r := wire.Result{Seq: w.seqs[p.id], Time: at, Check: c.kind + c.service, Kind: c.kind, Service: c.service,
				Target: "192.0.2.1:443", OK: ok, DurationMS: 10000}
			if ok {
				r.DurationMS = 20 + 300*w.rng.ExpFloat64()
			}
			if c.kind == wire.KindICMP {
				// Losses whose sums are exact in any order, so that the
				// two folds may add them in different orders.
				r.Phases = map[string]float64{"loss": [...]float64{0, 0, 0, 0, 0, 0, 0.125, 0.5}[w.rng.IntN(8)]}
			}
			wr.Results = append(wr.Results, r)
			wr.Cells = append(wr.Cells, rollup.Cell{Region: d.Code, Tile: qk, Service: c.service, Kind: c.kind, Probe: p.id})
		}
	}
	if _, err := w.st.Write(context.Background(), wr); err != nil {
		w.t.Fatal(err)
	}
	w.sent[p.id] = append(w.sent[p.id], wr)
	return wr
}

// feeds are the store's rollups as the engine reads them: cells only (a
// plain Source, folded afresh each time), and with region rows; reads
// counts the region rows read.
func (w *regionWorld) feeds(reads *atomic.Int64) (cells coverage.Feed, regions *coverage.GenerationSource) {
	read := coverage.Source(func(ctx context.Context, res time.Duration, from, to time.Time, fn func(coverage.Row) error) error {
		return w.st.Rollups(ctx, res, from, to, func(b time.Time, c rollup.Cell, a *rollup.Agg) error {
			return fn(coverage.Row{Bucket: b, Res: res, Cell: c, Agg: a})
		})
	})
	since, err := w.st.RegionRollupsSince()
	if err != nil {
		w.t.Fatal(err)
	}
	gs := coverage.NewGenerationSource(read, w.st.RollupGeneration).WithRegionRows(coverage.RegionRows{Since: since,
		Read: func(ctx context.Context, res time.Duration, from, to time.Time, fn func(time.Time, string, *rollup.RegionAgg) error) error {
			return w.st.RegionRollups(ctx, res, from, to, func(b time.Time, code string, a *rollup.RegionAgg) error {
				reads.Add(1)
				return fn(b, code, a)
			})
		}})
	return read, gs
}

// TestRegionRowsGiveTheCellAnswers compares every region level's answer
// from region rows with the answer from the cells of the same store, over
// aligned, unaligned and live windows, before and after duplicates,
// results resent to the store and late results into hours already read,
// with a service outage in an hour and in a minute.
func TestRegionRowsGiveTheCellAnswers(t *testing.T) {
	w := newRegionWorld(t)
	desa := len(w.country.Levels[4])
	var probes []probeAt
	for i := range 14 {
		probes = append(probes, probeAt{id: fmt.Sprintf("p%02d", i), desa: w.rng.IntN(desa), class: [...]int{0, 0, 0, 1, 2}[i%5]})
	}
	probes[1].desa = probes[0].desa // two probes in one desa
	outageHour := regionNow.Add(-4 * time.Hour)
	outageMinute := regionNow.Add(-97 * time.Minute).Truncate(time.Minute)
	down := func(at time.Time) bool {
		return at.Truncate(time.Hour).Equal(outageHour) || at.Truncate(time.Minute).Equal(outageMinute)
	}
	times := func(from, to time.Time, every time.Duration, phase time.Duration) []time.Time {
		var out []time.Time
		for at := from.Add(phase); at.Before(to); at = at.Add(every) {
			out = append(out, at)
		}
		return out
	}
	start := regionNow.Add(-6 * time.Hour)
	// Six hours, each probe every 7 minutes; the newest hour is left for
	// the late results.
	for i, p := range probes {
		w.write(p, p.desa, times(start, regionNow.Add(-time.Hour), 7*time.Minute, time.Duration(i)*23*time.Second), down)
	}
	// A survey probe measuring in three desa.
	survey := probeAt{id: "survey", desa: 0}
	for k, d := range []int{1, 5 % desa, 9 % desa} {
		w.write(survey, d, times(start.Add(time.Duration(k)*time.Hour), start.Add(time.Duration(k+1)*time.Hour), 5*time.Minute, 0), down)
	}

	windows := []coverage.Query{
		{From: start, To: regionNow, Now: regionNow},
		{From: regionNow.Add(-5*time.Hour - 30*time.Minute - 17*time.Second), To: regionNow.Add(-3 * time.Minute), Now: regionNow},
		{From: regionNow.Add(-2 * time.Hour), To: regionNow, Now: regionNow.Add(time.Minute)},
		{From: outageMinute.Add(-3 * time.Minute), To: outageMinute.Add(4 * time.Minute), Now: regionNow},
	}
	var reads atomic.Int64
	cells, regions := w.feeds(&reads)
	viaCells := coverage.NewEngine(w.regions, tile.NewIndex(w.regions), 15, coverage.DefaultThresholds)
	viaRegions := coverage.NewEngine(w.regions, tile.NewIndex(w.regions), 15, coverage.DefaultThresholds)
	compare := func(stage string) {
		t.Helper()
		states, err := w.st.Probes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var ps []coverage.Probe
		for _, s := range states {
			for _, p := range probes {
				if p.id == s.ID {
					ps = append(ps, coverage.Probe{ID: s.ID, Region: w.country.Levels[4][p.desa].Code, LastSeen: s.LastSeen})
				}
			}
		}
		for wi, q := range windows {
			for level := 1; level <= 4; level++ {
				want, err := viaCells.Regions(context.Background(), cells, ps, level, q)
				if err != nil {
					t.Fatal(err)
				}
				before := reads.Load()
				got, err := viaRegions.Regions(context.Background(), regions, ps, level, q)
				if err != nil {
					t.Fatal(err)
				}
				if level == 1 && wi == 0 && reads.Load() == before && stage == "first" {
					t.Fatalf("%s: the view read no region rows", stage)
				}
				samples := 0
				statuses := map[coverage.Status]bool{}
				for i := range want {
					samples += want[i].Samples
					statuses[want[i].Status] = true
					if g, x := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", want[i]); g != x {
						t.Errorf("%s, window %d, level %d, %s:\nregion rows %s\ncells       %s", stage, wi, level, want[i].Region.Code, g, x)
					}
				}
				if samples == 0 {
					t.Fatalf("%s, window %d, level %d: no samples", stage, wi, level)
				}
				if level == 4 && len(statuses) < 3 {
					t.Fatalf("%s, window %d: desa statuses %v: too alike to tell answers apart", stage, wi, statuses)
				}
			}
		}
	}
	compare("first")

	// Every batch of three probes again (duplicates), a late hour from
	// every probe into the hours already read, and the outage hour
	// touched once more.
	for _, p := range probes[:3] {
		for _, wr := range w.sent[p.id] {
			res, err := w.st.Write(context.Background(), wr)
			if err != nil {
				t.Fatal(err)
			}
			if res.Duplicates != len(wr.Results) || res.Stored != 0 {
				t.Fatalf("resent batch of %s: %+v, want all %d duplicates", p.id, res, len(wr.Results))
			}
		}
	}
	for i, p := range probes {
		w.write(p, p.desa, times(regionNow.Add(-time.Hour), regionNow, 6*time.Minute, time.Duration(i)*11*time.Second), down)
		w.write(p, p.desa, []time.Time{outageHour.Add(time.Duration(i) * time.Minute), outageMinute.Add(time.Duration(i) * time.Second)}, down)
	}
	compare("after duplicates and late results")
}

// TestRegionRowsOfAnOlderStore opens a store written before region rows
// (the region buckets removed): its region rows start after the newest
// hour it holds, late results into older hours add none, and the views
// of its older windows are the cell fold's.
func TestRegionRowsOfAnOlderStore(t *testing.T) {
	w := newRegionWorld(t)
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	p := probeAt{id: "p", desa: 3}
	never := func(time.Time) bool { return false }
	ahead := time.Now().UTC().Add(3 * time.Hour).Truncate(time.Hour) // what clock.max_ahead up to 24h lets in
	w.write(p, p.desa, []time.Time{regionNow.Add(-2 * time.Hour), ahead.Add(10 * time.Minute)}, never)
	if err := st.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRegionMeta, bucketRegionMinute, bucketRegionHour} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	if w.st, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer w.st.Close()
	since, err := w.st.RegionRollupsSince()
	if err != nil {
		t.Fatal(err)
	}
	if !since.After(ahead) {
		t.Fatalf("region rows since %s: not after the newest hour with cell rows, %s", since, ahead)
	}
	w.write(p, p.desa, []time.Time{regionNow.Add(-90 * time.Minute)}, never)
	rows := 0
	for _, res := range []time.Duration{rollup.Minute, rollup.Hour} {
		if err := w.st.RegionRollups(context.Background(), res, time.Unix(0, 1), since, func(time.Time, string, *rollup.RegionAgg) error {
			rows++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if rows != 0 {
		t.Fatalf("%d region rows before %s: a bucket would have part of its region rows", rows, since)
	}
	var reads atomic.Int64
	cells, regions := w.feeds(&reads)
	q := coverage.Query{From: regionNow.Add(-3 * time.Hour), To: regionNow, Now: regionNow}
	e := coverage.NewEngine(w.regions, tile.NewIndex(w.regions), 15, coverage.DefaultThresholds)
	want, err := e.Regions(context.Background(), cells, nil, 2, q)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Regions(context.Background(), regions, nil, 2, q)
	if err != nil {
		t.Fatal(err)
	}
	if g, x := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != x || !strings.Contains(x, "Samples:") {
		t.Errorf("older window from a store with region rows since %s:\ngot  %s\nwant %s", since, g, x)
	}
	samples := 0
	for _, c := range want {
		samples += c.Samples
	}
	if samples != 2*len(regionChecks) {
		t.Errorf("the window holds %d samples, want %d", samples, 2*len(regionChecks))
	}
}
