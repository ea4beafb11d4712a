package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// viewsData is the bench's data set: -probes probes on random desa, each
// with perProbe results over the window that ends at anchor, the checks
// of benchChecks taking turns. The same seed gives the same probes,
// results and batches; only anchor moves them in time.
type viewsData struct {
	probes   []benchProbe
	where    []orb.Point // a point of each probe's desa, for PostGIS
	perProbe int
	anchor   time.Time
	window   time.Duration
}

func newViewsData(rs *region.Regions, probes, results int, seed uint64, anchor time.Time, window time.Duration) (*viewsData, error) {
	if probes < 1 || results < probes {
		return nil, fmt.Errorf("-results (%d) must be at least -probes (%d), and -probes at least 1", results, probes)
	}
	ps, err := placeBenchProbes(rs, probes, seed)
	if err != nil {
		return nil, err
	}
	d := &viewsData{probes: ps, perProbe: results / probes, anchor: anchor.Truncate(time.Millisecond), window: window}
	for i := range ps {
		pt, err := pointIn(rs, ps[i].cell.Region, seed+uint64(i))
		if err != nil {
			return nil, err
		}
		d.where = append(d.where, pt)
	}
	return d, nil
}

// pointIn is a random point inside the region of code.
func pointIn(rs *region.Regions, code string, seed uint64) (orb.Point, error) {
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, r := range rs.Level(rs.Deepest()) {
		if r.Code != code {
			continue
		}
		b := r.Bound
		for range 10000 {
			pt := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
			if got := rs.Locate(pt[1], pt[0]); got != nil && got.Code == code {
				return pt, nil
			}
		}
	}
	return orb.Point{}, fmt.Errorf("no point found inside desa %s", code)
}

// result is the k-th result (seq k+1) of probe i. Every probe spreads its
// results evenly over [anchor-window, anchor), at its own offset within
// one step, so none lies ahead of the collector's clock.
func (d *viewsData) result(i, k int) wire.Result {
	from := d.anchor.Add(-d.window)
	r, _ := benchResult(&d.probes[i], i, k, d.perProbe, from, d.window)
	const spread = 11
	step := d.window / time.Duration(d.perProbe)
	r.Time = from.Add(time.Duration(k)*step + time.Duration(i%spread)*step/spread).Truncate(time.Millisecond)
	return r
}

// batches calls fn with probe i's batches of at most size results, in
// seq order, as its uploader sends them.
func (d *viewsData) batches(i, size int, fn func(wire.Batch) error) error {
	p := &d.probes[i]
	for first := 0; first < d.perProbe; first += size {
		n := min(size, d.perProbe-first)
		b := wire.Batch{Probe: p.id, FirstSeq: uint64(first + 1), Results: make([]wire.Result, n)}
		for j := range n {
			b.Results[j] = d.result(i, first+j)
		}
		b.SentAt = b.Results[n-1].Time
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// liveSender posts results stamped "now" at rate results/s, spread over
// all probes, until its context ends: a steady stream into the window's
// running minute. Seqs continue above the loaded ones, and above those of
// an earlier run on the same data (the millisecond since anchor).
type liveSender struct {
	sent, failed atomic.Int64
	elapsed      time.Duration
	cancel       context.CancelFunc
	done         chan struct{}
}

func (d *viewsData) sendLive(ctx context.Context, rate int, post func(probe string, body []byte) error) *liveSender {
	ctx, cancel := context.WithCancel(ctx)
	ls := &liveSender{cancel: cancel, done: make(chan struct{})}
	const tick = 50 * time.Millisecond
	// Each probe uploads about every 2 s, as a spool that batches does.
	perBatch := max(1, 2*rate/len(d.probes))
	var offered int // results handed to post so far
	base := uint64(d.perProbe) + 1 + uint64(time.Since(d.anchor)/time.Millisecond)
	seqs := make([]uint64, len(d.probes))
	for i := range seqs {
		seqs[i] = base
	}
	var next int
	start := time.Now()
	t := time.NewTicker(tick)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	go func() {
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				wg.Wait()
				ls.elapsed = time.Since(start)
				close(ls.done)
				return
			case now := <-t.C:
				// What is due since start, so that a slow answer is made
				// up at the next tick (a Ticker drops the ticks it misses).
				due := int(float64(rate)*now.Sub(start).Seconds()) - offered
				for left := min(due, rate); left > 0; left -= perBatch {
					n := min(perBatch, left)
					i := next % len(d.probes)
					next++
					b := wire.Batch{Probe: d.probes[i].id, SentAt: now.UTC(), FirstSeq: seqs[i], Results: make([]wire.Result, n)}
					for j := range n {
						r := d.result(i, int(seqs[i]+uint64(j))%d.perProbe)
						r.Seq, r.Time = seqs[i]+uint64(j), now.UTC().Truncate(time.Millisecond)
						b.Results[j] = r
					}
					seqs[i] += uint64(n)
					offered += n
					body, err := gzipBatch(b)
					if err != nil {
						ls.failed.Add(int64(n))
						continue
					}
					sem <- struct{}{}
					wg.Go(func() {
						defer func() { <-sem }()
						if err := post(b.Probe, body); err != nil {
							ls.failed.Add(int64(n))
							return
						}
						ls.sent.Add(int64(n))
					})
				}
			}
		}
	}()
	return ls
}

// stop ends the stream and returns the rate it kept (results/s stored)
// and the results that were refused or lost.
func (ls *liveSender) stop() (float64, int64) {
	ls.cancel()
	<-ls.done
	return float64(ls.sent.Load()) / ls.elapsed.Seconds(), ls.failed.Load()
}
