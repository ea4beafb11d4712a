package main

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/wire"
)

// The bench's store is a fixture shared between runs, so live ingest goes
// into a second, empty embedded store (a real Store.Write, real stamps)
// and the engine reads both through one GenerationSource: the rows of a
// cell from both merge as rows from one store would.

// benchFeed feeds the rollups of main and live, stamped by both.
func benchFeed(main, live *embedded.Store) *coverage.GenerationSource {
	a, b := rollupSource(main), rollupSource(live)
	read := func(ctx context.Context, res time.Duration, from, to time.Time, fn func(coverage.Row) error) error {
		if err := a(ctx, res, from, to, fn); err != nil {
			return err
		}
		return b(ctx, res, from, to, fn)
	}
	// Each stamp only grows, so their sum changes when either does.
	gen := func(res time.Duration, from, to time.Time) uint64 {
		return main.RollupGeneration(res, from, to) + live.RollupGeneration(res, from, to)
	}
	return coverage.NewGenerationSource(read, gen)
}

// openLive opens an empty store in a temporary directory; close removes it.
func openLive() (*embedded.Store, func(), error) {
	dir, err := os.MkdirTemp("", "jangkau-bench-live")
	if err != nil {
		return nil, nil, err
	}
	st, err := embedded.Open(dir, embedded.NoSync())
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return st, func() { st.Close(); os.RemoveAll(dir) }, nil
}

// liveWriter writes results of the bench's probes into a store as probes
// upload them: one small batch per probe, several uploads at once.
type liveWriter struct {
	st     *embedded.Store
	probes []benchProbe
	seq    []uint64 // each probe's last seq, owned by the probe's writer
	stored atomic.Int64
}

func newLiveWriter(st *embedded.Store, probes []benchProbe) *liveWriter {
	return &liveWriter{st: st, probes: probes, seq: make([]uint64, len(probes))}
}

// write stores n results of probe i at times from at().
func (w *liveWriter) write(ctx context.Context, i, n int, at func() time.Time) error {
	bp := &w.probes[i]
	c := benchChecks[0] // the gateway: uplink over tcp
	wr := store.Write{Probe: bp.id, FirstSeq: w.seq[i] + 1, Results: make([]wire.Result, n), Cells: make([]rollup.Cell, n)}
	for k := range n {
		w.seq[i]++
		t := at()
		wr.Results[k] = wire.Result{Seq: w.seq[i], Time: t, Check: c.name, Kind: c.kind, Target: "10.20.0.1",
			OK: rand.Float64() < bp.okShare, DurationMS: bp.latency}
		wr.Cells[k] = bp.cell
		wr.Cells[k].Kind, wr.Cells[k].Service = c.kind, rollup.Uplink
	}
	wr.Received = wr.Results[n-1].Time
	res, err := w.st.Write(ctx, wr)
	w.stored.Add(int64(res.Stored))
	return err
}

// run writes perUpload results per probe upload at perSecond results a
// second, timed by at, until ctx ends, from writers goroutines.
func (w *liveWriter) run(ctx context.Context, perSecond, perUpload, writers int, at func() time.Time) error {
	lim := rate.NewLimiter(rate.Limit(perSecond), perUpload*writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := g; ; i += writers {
				if i >= len(w.probes) {
					i = g
				}
				if lim.WaitN(ctx, perUpload) != nil {
					return
				}
				if err := w.write(ctx, i, perUpload, at); err != nil && ctx.Err() == nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
