package coverage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/internal/cputime"
	"github.com/jangkau/jangkau/wire"
)

// memStore keeps rollup rows encoded, as a store does, and stamps each
// bucket with the generation of its last write: a GenerationSource in
// memory, for benchmarks of the engine alone.
type memStore struct {
	mu     sync.RWMutex
	rows   map[time.Duration]map[int64]map[rollup.Cell][]byte
	stamps map[time.Duration]map[int64]uint64
	gen    uint64
	// edges keeps only the minute rows a day's window ending at
	// benchNow reads, to spare memory.
	edges bool
}

func (m *memStore) edge(bucket int64) bool {
	t := time.Unix(0, bucket)
	return t.Before(benchNow.Add(-23*time.Hour)) || !t.Before(benchNow.Add(-90*time.Minute))
}

func newMemStore() *memStore {
	return &memStore{rows: map[time.Duration]map[int64]map[rollup.Cell][]byte{rollup.Minute: {}, rollup.Hour: {}},
		stamps: map[time.Duration]map[int64]uint64{rollup.Minute: {}, rollup.Hour: {}}}
}

// write adds results of one cell to their minute and hour rows.
func (m *memStore) write(c rollup.Cell, rs ...wire.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	d := rollup.Delta{}
	for i := range rs {
		d.Add(c, &rs[i])
	}
	for k, add := range d {
		if m.edges && k.Res == rollup.Minute && !m.edge(k.Bucket) {
			continue
		}
		cells := m.rows[k.Res][k.Bucket]
		if cells == nil {
			cells = map[rollup.Cell][]byte{}
			m.rows[k.Res][k.Bucket] = cells
		}
		if enc := cells[c]; enc != nil {
			a, err := rollup.DecodeAgg(enc)
			if err != nil {
				panic(err)
			}
			if err := a.Merge(add); err != nil {
				panic(err)
			}
			add = a
		}
		cells[c] = add.AppendBinary(nil)
		m.stamps[k.Res][k.Bucket] = m.gen
	}
}

func (m *memStore) source() *GenerationSource {
	read := func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
		m.mu.RLock()
		var rows []Row
		for b := from.Truncate(res); b.Before(to); b = b.Add(res) {
			if b.Before(from) {
				continue
			}
			for c, enc := range m.rows[res][b.UnixNano()] {
				a, err := rollup.DecodeAggLazy(enc)
				if err != nil {
					m.mu.RUnlock()
					return err
				}
				rows = append(rows, Row{Bucket: b, Res: res, Cell: c, Agg: a})
			}
		}
		m.mu.RUnlock()
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	gen := func(res time.Duration, from, to time.Time) uint64 {
		m.mu.RLock()
		defer m.mu.RUnlock()
		var g uint64
		for b := from.Truncate(res); b.Before(to); b = b.Add(res) {
			if !b.Before(from) {
				g = max(g, m.stamps[res][b.UnixNano()])
			}
		}
		return g
	}
	return NewGenerationSource(read, gen)
}

// benchNow is the benchmarks' clock: the middle of an hour, as in
// jangkau-bench coverage, so that a day's window has minute edges.
var benchNow = now.Add(30 * time.Minute)

// busyBanten is a day of results from probes on random Banten desa, a
// result of each of five checks every two minutes, the shape of
// jangkau-bench coverage's store; cells are the probes' cells, by probe.
// Benchmarks share one such day (a fresh engine each), made once.
func busyBanten(b *testing.B) (*Engine, *memStore, [][]rollup.Cell) {
	file := geotest.File(b, "banten-adm4.geojson")
	banten.once.Do(func() { banten.rs, banten.m, banten.cells, banten.err = makeBusyBanten(file, 2000) })
	if banten.err != nil {
		b.Fatal(banten.err)
	}
	return NewEngine(banten.rs, tile.NewIndex(banten.rs), tile.DefaultZoom, DefaultThresholds), banten.m, banten.cells
}

var banten struct {
	once  sync.Once
	rs    *region.Regions
	m     *memStore
	cells [][]rollup.Cell
	err   error
}

func makeBusyBanten(file string, probes int) (*region.Regions, *memStore, [][]rollup.Cell, error) {
	regions, err := region.LoadFile(file, region.LoadOptions{})
	if err != nil {
		return nil, nil, nil, err
	}
	m := newMemStore()
	m.edges = true
	rng := rand.New(rand.NewPCG(17, 1))
	desa := regions.Level(regions.Deepest())
	checks := []struct{ kind, service string }{{wire.KindTCP, rollup.Uplink}, {wire.KindICMP, rollup.Uplink}, {wire.KindDNS, rollup.Uplink},
		{wire.KindHTTP, "perizinan"}, {wire.KindHTTP, "dukcapil"}}
	cells := make([][]rollup.Cell, probes)
	for p := range probes {
		d := desa[rng.IntN(len(desa))]
		at := d.Bound.Center()
		okShare := []float64{0.3, 0.9, 0.995}[rng.IntN(3)]
		for _, c := range checks {
			cell := rollup.Cell{Region: d.Code, Tile: tile.Quadkey(tile.At(at[1], at[0], tile.DefaultZoom)), Carrier: "xl",
				Service: c.service, Kind: c.kind, Probe: fmt.Sprintf("p%d", p)}
			cells[p] = append(cells[p], cell)
			var rs []wire.Result
			for t := benchNow.Add(-24 * time.Hour).Add(time.Duration(rng.IntN(120)) * time.Second); t.Before(benchNow); t = t.Add(2 * time.Minute) {
				rs = append(rs, benchResult(rng, c.kind, t, okShare))
			}
			m.write(cell, rs...)
		}
	}
	return regions, m, cells, nil
}

func benchResult(rng *rand.Rand, kind string, t time.Time, okShare float64) wire.Result {
	r := wire.Result{Time: t, Kind: kind, OK: rng.Float64() < okShare, DurationMS: 30 * math.Exp(rng.NormFloat64())}
	if kind == wire.KindICMP {
		r.Phases = map[string]float64{"loss": float64(rng.IntN(5)) / 4}
	}
	return r
}

// BenchmarkRepeatWhileWriting is the map's query (desa level and tiles)
// over a day, repeated while probes report into the running minute:
// between two repeats, a few uploads of a few probes.
func BenchmarkRepeatWhileWriting(b *testing.B) {
	e, m, cells := busyBanten(b)
	src := m.source()
	ctx := context.Background()
	q := Query{From: benchNow.Add(-24 * time.Hour), To: benchNow, Now: benchNow}
	view := func() {
		if _, err := e.Regions(ctx, src, nil, e.regions.Deepest(), q); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Tiles(ctx, src, tile.DefaultZoom, orb.Bound{}, q); err != nil {
			b.Fatal(err)
		}
	}
	view()
	rng := rand.New(rand.NewPCG(1, 2))
	cpu := cputime.NewClock(b)
	for b.Loop() {
		b.StopTimer()
		for range 16 {
			p := rng.IntN(len(cells))
			m.write(cells[p][0], benchResult(rng, wire.KindTCP, benchNow.Add(-time.Duration(1+rng.IntN(59))*time.Second), 0.99))
		}
		b.StartTimer()
		cpu.Start()
		view()
		cpu.Stop()
	}
	cpu.Report()
}

// BenchmarkServicesRepeatWhileWriting is the services view (kabupaten)
// over a day, the same way.
func BenchmarkServicesRepeatWhileWriting(b *testing.B) {
	e, m, cells := busyBanten(b)
	src := m.source()
	ctx := context.Background()
	q := Query{From: benchNow.Add(-24 * time.Hour), To: benchNow, Now: benchNow}
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := e.Services(ctx, src, 2, q); err != nil {
		b.Fatal(err)
	}
	cpu := cputime.NewClock(b)
	for b.Loop() {
		b.StopTimer()
		for range 16 {
			p := rng.IntN(len(cells))
			c := cells[p][3+rng.IntN(2)]
			m.write(c, benchResult(rng, c.Kind, benchNow.Add(-time.Duration(1+rng.IntN(59))*time.Second), 0.99))
		}
		b.StartTimer()
		cpu.Start()
		if _, err := e.Services(ctx, src, 2, q); err != nil {
			b.Fatal(err)
		}
		cpu.Stop()
	}
	cpu.Report()
}
