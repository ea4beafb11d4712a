package embedded

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/synth"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// BenchmarkCountryRegionsCold times a cold kabupaten view (a fresh
// engine, the level's tile cover already computed) of an eighth of the
// country benchmark (jangkau-bench country): 10,000-odd desa, 2,500
// probes at random desa, ten checks each, one result per check and hour
// over 6 h, an unaligned window; from region rows and from cells, on the
// same store.
func BenchmarkCountryRegionsCold(b *testing.B) {
	c, err := synth.Generate(synth.Options{Seed: 1, Provinces: 5, Kabupaten: 64, Kecamatan: 900, Desa: 10500})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteGeoJSON(&buf, synth.WriteOptions{Levels: []int{1, 2, 3, 4}}); err != nil {
		b.Fatal(err)
	}
	rs, err := region.Load(&buf, region.LoadOptions{PopulationProperty: "penduduk"})
	if err != nil {
		b.Fatal(err)
	}
	st, err := Open(b.TempDir(), NoSync())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	end := time.Date(2026, 11, 27, 12, 17, 0, 0, time.UTC)
	start := end.Add(-6 * time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	desa := c.Levels[4]
	for i := range 2500 {
		d := desa[rng.IntN(len(desa))]
		ctr := c.CellCenter(d.Cells.X0, d.Cells.Y0)
		qk := tile.Quadkey(tile.At(ctr[1], ctr[0], 15))
		id := fmt.Sprintf("p%04d", i)
		w := store.Write{Probe: id, FirstSeq: 1, Received: end}
		for k, ch := range regionChecks[:5] {
			for rep := range 2 {
				phase := time.Duration(rng.Int64N(int64(time.Hour)))
				for at := start.Add(phase); at.Before(end); at = at.Add(time.Hour) {
					r := wire.Result{Seq: uint64(len(w.Results) + 1), Time: at, Check: fmt.Sprint(k, rep), Kind: ch.kind, Service: ch.service,
						Target: "192.0.2.1:443", OK: rng.Float64() < 0.95, DurationMS: 20 + 200*rng.ExpFloat64()}
					w.Results = append(w.Results, r)
					w.Cells = append(w.Cells, rollup.Cell{Region: d.Code, Tile: qk, Service: ch.service + fmt.Sprint(rep), Kind: ch.kind, Probe: id})
				}
			}
		}
		if _, err := st.Write(context.Background(), w); err != nil {
			b.Fatal(err)
		}
	}
	read := coverage.Source(func(ctx context.Context, res time.Duration, from, to time.Time, fn func(coverage.Row) error) error {
		return st.Rollups(ctx, res, from, to, func(bt time.Time, c rollup.Cell, a *rollup.Agg) error {
			return fn(coverage.Row{Bucket: bt, Res: res, Cell: c, Agg: a})
		})
	})
	since, err := st.RegionRollupsSince()
	if err != nil {
		b.Fatal(err)
	}
	idx := tile.NewIndex(rs)
	if _, err := idx.Cover(2, 15); err != nil {
		b.Fatal(err)
	}
	q := coverage.Query{From: start, To: end, Now: end}
	for _, withRegions := range []bool{true, false} {
		name := "cells"
		if withRegions {
			name = "region-rows"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				gs := coverage.NewGenerationSource(read, st.RollupGeneration)
				if withRegions {
					gs.WithRegionRows(coverage.RegionRows{Since: since, Read: st.RegionRollups})
				}
				e := coverage.NewEngine(rs, idx, 15, coverage.DefaultThresholds)
				cells, err := e.Regions(context.Background(), gs, nil, 2, q)
				if err != nil || len(cells) == 0 {
					b.Fatal(err, len(cells))
				}
			}
		})
	}
}
