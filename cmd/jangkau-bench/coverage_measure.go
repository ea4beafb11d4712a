package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/internal/cputime"
)

// ingestRate is the live load while the repeat queries run: 2,000 probes
// with a result a second each, uploading every few seconds, into the
// window's running minute.
const (
	ingestRate = 2000
	perUpload  = 5
)

// runFigures are one run's measurements, in ms unless said.
type runFigures struct {
	open, cold, cover, warm, plain float64
	coldCPU                        float64 // ms of CPU (user and system) the cold query took
	underIngest                    []float64
	ingested                       float64 // results/s stored while the queries ran
	backfill, afterBackfill        float64
	heapKept                       float64 // MiB live with the engine's folds kept
	cells, tiles                   int
}

func measureCoverage(dir string, p coverageParams, rs *region.Regions, runs int) error {
	bps, err := placeBenchProbes(rs, p.Probes, p.Seed)
	if err != nil {
		return err
	}
	var all []runFigures
	for run := 1; run <= runs; run++ {
		f, err := measureRun(context.Background(), dir, p, rs, bps)
		if err != nil {
			return err
		}
		all = append(all, f)
		fmt.Printf("run %d: open %.0f ms; cold %.0f ms (%.0f ms CPU; tile cover ~%.0f ms of it), warm repeat %.1f ms, plain feed %.0f ms; "+
			"under ingest (%.0f results/s) median %.1f ms, max %.1f ms of %d; backfill into an old hour %.0f ms, then %.1f ms; heap kept %.0f MiB\n",
			run, f.open, f.cold, f.coldCPU, f.cover, f.warm, f.plain, f.ingested, median(f.underIngest), slices.Max(f.underIngest),
			len(f.underIngest), f.backfill, f.afterBackfill, f.heapKept)
	}
	med := func(get func(runFigures) float64) float64 {
		xs := make([]float64, len(all))
		for i, f := range all {
			xs[i] = get(f)
		}
		return median(xs)
	}
	var ingest []float64
	for _, f := range all {
		ingest = append(ingest, f.underIngest...)
	}
	if st, err := embedded.Open(dir); err == nil {
		rows, size, err := st.RollupSize(rollup.Hour)
		if err == nil && rows > 0 {
			fmt.Printf("hour rows: %d in %.1f MiB of pages, %.0f bytes per cell-hour\n", rows, mib(uint64(size)), float64(size)/float64(rows))
		}
		st.Close()
	}
	fmt.Printf("answer: %d desa, %d tiles at z%d; %d results from %d probes over %s, now %s\n",
		all[0].cells, all[0].tiles, tile.DefaultZoom, p.Results, p.Probes, p.Window, p.Now.Format(time.RFC3339))
	fmt.Printf("median of %d runs: cold %.0f ms, %.0f ms CPU on %d cores (freshly opened store and engine, OS page cache as it is; tile cover ~%.0f ms of it), warm repeat %.1f ms\n",
		runs, med(func(f runFigures) float64 { return f.cold }), med(func(f runFigures) float64 { return f.coldCPU }), runtime.NumCPU(),
		med(func(f runFigures) float64 { return f.cover }),
		med(func(f runFigures) float64 { return f.warm }))
	fmt.Printf("repeat under ingest (%d results/s in uploads of %d into the window's running minute, a second store): median %.1f ms, p90 %.1f ms over %d queries; stored %.0f results/s\n",
		ingestRate, perUpload, median(ingest), quantile(ingest, 0.9), len(ingest), med(func(f runFigures) float64 { return f.ingested }))
	fmt.Printf("after a probe's backfill into an hour 6 h back: %.0f ms, the next repeat %.1f ms; plain feed (no stamps, folds per view, as a partner's scoped export): %.0f ms\n",
		med(func(f runFigures) float64 { return f.backfill }), med(func(f runFigures) float64 { return f.afterBackfill }),
		med(func(f runFigures) float64 { return f.plain }))
	fmt.Printf("store open (bbolt rebuilds its freelist by scanning the file): median %.0f ms\n", med(func(f runFigures) float64 { return f.open }))
	fmt.Printf("memory: Go heap live with an engine's folds kept %.0f MiB (median, after GC); process peak RSS %s\n",
		med(func(f runFigures) float64 { return f.heapKept }), peakRSS())
	return nil
}

// measureRun opens the store and a fresh engine and times the map's query
// cold, warm, under ingest and after a backfill.
func measureRun(ctx context.Context, dir string, p coverageParams, rs *region.Regions, bps []benchProbe) (runFigures, error) {
	var f runFigures
	probes := make([]coverage.Probe, len(bps))
	for i, bp := range bps {
		probes[i] = coverage.Probe{ID: bp.id, Region: bp.cell.Region, Carrier: bp.carrier, LastSeen: p.Now}
	}
	q := coverage.Query{From: p.Now.Add(-p.Window), To: p.Now, Now: p.Now}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapAlloc

	t := time.Now()
	st, err := embedded.Open(dir)
	if err != nil {
		return f, err
	}
	defer st.Close()
	f.open = ms(time.Since(t))
	live, closeLive, err := openLive()
	if err != nil {
		return f, err
	}
	defer closeLive()
	e := coverage.NewEngine(rs, tile.NewIndex(rs), tile.DefaultZoom, coverage.DefaultThresholds)
	feed := benchFeed(st, live)
	timed := func(src coverage.Feed) (float64, error) {
		t := time.Now()
		var err error
		f.cells, f.tiles, err = coverageQuery(ctx, e, src, probes, q)
		return ms(time.Since(t)), err
	}
	cpu0 := cputime.Self()
	if f.cold, err = timed(feed); err != nil {
		return f, err
	}
	f.coldCPU = ms(cputime.Self() - cpu0)
	// The tile cover is now kept: time a fresh one on its own.
	t = time.Now()
	if _, err := tile.NewIndex(rs).Cover(4, tile.DefaultZoom); err != nil {
		return f, err
	}
	f.cover = ms(time.Since(t))
	if f.warm, err = timed(feed); err != nil {
		return f, err
	}
	runtime.GC()
	runtime.ReadMemStats(&m)
	f.heapKept = mib(m.HeapAlloc - min(base, m.HeapAlloc))
	if f.plain, err = timed(rollupSource(st)); err != nil {
		return f, err
	}

	// Repeats while probes report into the running minute.
	w := newLiveWriter(live, bps)
	lastMinute := func() time.Time { return p.Now.Add(-time.Minute + time.Duration(rand.Int64N(int64(time.Minute)))) }
	ictx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.run(ictx, ingestRate, perUpload, 16, lastMinute) }()
	time.Sleep(500 * time.Millisecond)
	stored0, t0 := w.stored.Load(), time.Now()
	for start := time.Now(); time.Since(start) < 3*time.Second; {
		d, err := timed(feed)
		if err != nil {
			stop()
			return f, err
		}
		f.underIngest = append(f.underIngest, d)
	}
	f.ingested = float64(w.stored.Load()-stored0) / time.Since(t0).Seconds()
	stop()
	if err := <-done; err != nil {
		return f, err
	}

	// A probe's spool drains an hour of results 6 h back.
	old := p.Now.Add(-6 * time.Hour).Truncate(time.Hour)
	if err := w.write(ctx, 0, 60, func() time.Time { return old.Add(time.Duration(rand.Int64N(int64(time.Hour)))) }); err != nil {
		return f, err
	}
	if f.backfill, err = timed(feed); err != nil {
		return f, err
	}
	if f.afterBackfill, err = timed(feed); err != nil {
		return f, err
	}
	return f, nil
}

// quantile is the q-quantile of xs by the nearest rank.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
