package coverage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// liveStore is an embedded store fed busyDay, written as probes write.
type liveStore struct {
	t   *testing.T
	st  *embedded.Store
	mu  sync.Mutex
	seq map[string]uint64
}

func openLive(t *testing.T) *liveStore {
	st, err := embedded.Open(t.TempDir(), embedded.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &liveStore{t: t, st: st, seq: map[string]uint64{}}
	per := map[string][]measured{}
	for _, m := range busyDay() {
		per[m.cell.Probe] = append(per[m.cell.Probe], m)
	}
	for _, ms := range per {
		if err := s.write(ms...); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// write stores results of one probe under its next seqs.
func (s *liveStore) write(ms ...measured) error {
	s.mu.Lock()
	p := ms[0].cell.Probe
	w := store.Write{Probe: p, FirstSeq: s.seq[p] + 1, Received: now}
	for _, m := range ms {
		s.seq[p]++
		r := m.r
		r.Seq = s.seq[p]
		w.Results, w.Cells = append(w.Results, r), append(w.Cells, m.cell)
	}
	s.mu.Unlock()
	_, err := s.st.Write(context.Background(), w)
	return err
}

func (s *liveStore) source() Source {
	return func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
		return s.st.Rollups(ctx, res, from, to, func(b time.Time, c rollup.Cell, a *rollup.Agg) error {
			return fn(Row{Bucket: b, Res: res, Cell: c, Agg: a})
		})
	}
}

// result is one result of probe d's portal check at t.
func portalAt(t time.Time, ok bool) measured {
	return measured{rollup.Cell{Region: "99.02.02", Tile: "", Carrier: "xl", Service: "portal", Kind: wire.KindHTTP, Probe: "d"},
		wire.Result{Time: t, Kind: wire.KindHTTP, Service: "portal", OK: ok, DurationMS: 900}}
}

// TestKeptFoldsFollowWrites: with the embedded store's stamps, a repeat
// of the region, tile and services views reads nothing; a write into the window's running minute re-reads only
// its block, a late backfill into an old hour only the hours, a pruning
// of those hours the same; every answer equals the row-by-row one of the
// store as it then is.
func TestKeptFoldsFollowWrites(t *testing.T) {
	e := newEngine(t)
	s := openLive(t)
	var reads atomic.Int64
	counted := Source(func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
		reads.Add(1)
		return s.source()(ctx, res, from, to, fn)
	})
	gs := NewGenerationSource(counted, s.st.RollupGeneration)
	// 09:35..11:55: minute blocks, the hour 10, minute blocks to 11:55.
	q := Query{From: now.Add(-2*time.Hour - 25*time.Minute), To: now.Add(-5 * time.Minute), Now: now}
	ctx := context.Background()
	var last string
	step := func(what string, wantReads int64, changes bool) {
		t.Helper()
		reads.Store(0)
		got, err := e.Regions(ctx, gs, nil, 3, q)
		if err != nil {
			t.Fatal(err)
		}
		tiles, err := e.Tiles(ctx, gs, 15, emptyBound, q)
		if err != nil {
			t.Fatal(err)
		}
		services, err := e.Services(ctx, gs, 2, q)
		if err != nil {
			t.Fatal(err)
		}
		if reads.Load() != wantReads {
			t.Errorf("%s: %d spans read, want %d", what, reads.Load(), wantReads)
		}
		want, err := e.refRegions(ctx, s.source(), nil, 3, q)
		if err != nil {
			t.Fatal(err)
		}
		wantTiles, err := e.refTiles(ctx, s.source(), 15, q)
		if err != nil {
			t.Fatal(err)
		}
		wantServices, err := e.refServices(ctx, s.source(), 2, q)
		if err != nil {
			t.Fatal(err)
		}
		if !same(got, want) || !same(tiles, wantTiles) || !same(services, wantServices) {
			t.Fatalf("%s: answer differs from the store's:\n got %+v\n     %+v\nwant %+v\n     %+v", what, got, services, want, wantServices)
		}
		answer := fmt.Sprintf("%+v %+v %+v", got, tiles, services)
		if last != "" && (answer != last) != changes {
			t.Errorf("%s: answer changed %v, want %v", what, answer != last, changes)
		}
		last = answer
	}
	segs, _ := segments(q.From, q.To)
	step("first", int64(len(segs)), true)
	step("repeat", 0, false)
	if err := s.write(portalAt(now.Add(-5*time.Minute-50*time.Second), false)); err != nil {
		t.Fatal(err)
	}
	step("after a result in the running minute", 1, true)
	if err := s.write(portalAt(now.Add(-100*time.Minute), true), portalAt(now.Add(-99*time.Minute), true)); err != nil {
		t.Fatal(err)
	}
	step("after a backfill into the hour 10", 1, true)
	if err := s.write(portalAt(now.Add(-3*time.Minute), false)); err != nil {
		t.Fatal(err)
	}
	step("after a result past the window", 0, false)
	// Hour rows kept 30 min: the hour 10 goes (the edges stay in minutes).
	if _, err := s.st.Prune(ctx, embedded.Retention{Hour: 30 * time.Minute, Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	step("after a pruning of the hour 10", 1, true)
}

// TestConcurrentQueriesWhileWriting runs views of several windows and
// levels at once while probes write (run it with -race); once the writes
// stop, every view equals the row-by-row answer.
func TestConcurrentQueriesWhileWriting(t *testing.T) {
	e := newEngine(t)
	s := openLive(t)
	gs := NewGenerationSource(s.source(), s.st.RollupGeneration)
	ctx := context.Background()
	cases := foldCases()[:8]
	view := func(src Feed, q Query, i int) (string, error) {
		if i%4 == 3 {
			v, err := e.Tiles(ctx, src, 15-i%2*3, emptyBound, q)
			return fmt.Sprintf("%+v", v), err
		}
		v, err := e.Regions(ctx, src, nil, 1+i%3, q)
		return fmt.Sprintf("%+v", v), err
	}
	stop := make(chan struct{})
	var writes sync.WaitGroup
	writes.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			at := now.Add(-time.Duration(i%300) * time.Minute) // the running minute and backfills
			if err := s.write(portalAt(at, i%3 == 0)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var queries sync.WaitGroup
	for g := range 6 {
		queries.Go(func() {
			for i := range 24 {
				if _, err := view(gs, cases[(g+i)%len(cases)], g+i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	queries.Wait()
	close(stop)
	writes.Wait()
	for i, q := range cases {
		for j := range 4 {
			got, err := view(gs, q, i+j)
			if err != nil {
				t.Fatal(err)
			}
			want, err := view(s.source(), q, i+j)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("case %d view %d after the writes:\n got %s\nwant %s", i, j, got, want)
			}
		}
	}
}

// TestInterleavedWritesAndViews writes, at random, results into the
// running minute, into older minutes of the newest block, into old hours
// (a spool's backfill), from a new probe, and bursts of failures that
// make or unmake an outage, and between the writes asks views of every
// kind at random; every answer of the engine that keeps its folds must
// equal a fresh engine's and the row-by-row one.
func TestInterleavedWritesAndViews(t *testing.T) {
	e := newEngine(t)
	s := openLive(t)
	gs := NewGenerationSource(s.source(), s.st.RollupGeneration)
	ctx := context.Background()
	windows := []Query{
		{From: now.Add(-3 * time.Hour), To: now, Now: now},
		{From: now.Add(-40 * time.Minute), To: now, Now: now},
		{From: now.Add(-2*time.Hour - 25*time.Minute), To: now.Add(-5 * time.Minute), Now: now},
		{From: now.Add(-3 * time.Hour), To: now, Now: now, Carrier: "xl"},
		{From: now.Add(-3 * time.Hour), To: now, Now: now, Service: "portal"},
	}
	type view struct {
		name string
		ask  func(e *Engine, src Feed, q Query) (any, error)
		ref  func(q Query) (any, error)
	}
	var views []view
	for level := 1; level <= 3; level++ {
		views = append(views, view{fmt.Sprintf("regions level %d", level),
			func(e *Engine, src Feed, q Query) (any, error) { return e.Regions(ctx, src, nil, level, q) },
			func(q Query) (any, error) { return e.refRegions(ctx, s.source(), nil, level, q) }})
		views = append(views, view{fmt.Sprintf("services level %d", level),
			func(e *Engine, src Feed, q Query) (any, error) { return e.Services(ctx, src, level, q) },
			func(q Query) (any, error) { return e.refServices(ctx, s.source(), level, q) }})
	}
	for _, z := range []int{15, 12} {
		views = append(views, view{fmt.Sprintf("tiles z%d", z),
			func(e *Engine, src Feed, q Query) (any, error) { return e.Tiles(ctx, src, z, emptyBound, q) },
			func(q Query) (any, error) { return e.refTiles(ctx, s.source(), z, q) }})
	}
	fail := func(probe, region, tile string, at time.Time) measured {
		m := portalAt(at, false)
		m.cell.Probe, m.cell.Region, m.cell.Tile = probe, region, tile
		return m
	}
	rng := rand.New(rand.NewPCG(17, 3))
	minute := func(back int) time.Time {
		return now.Add(-time.Duration(back+1)*time.Minute + time.Duration(rng.IntN(60))*time.Second)
	}
	writes := map[string]int{}
	for step := range 160 {
		switch x := rng.IntN(10); {
		case x < 4:
			writes["running minute"]++
			err := s.write(portalAt(minute(0), rng.IntN(3) > 0))
			if err != nil {
				t.Fatal(err)
			}
		case x < 6:
			writes["older minute of the newest block"]++
			if err := s.write(portalAt(minute(1+rng.IntN(9)), rng.IntN(2) == 0)); err != nil {
				t.Fatal(err)
			}
		case x < 7:
			writes["backfill into an old hour"]++
			if err := s.write(portalAt(now.Add(-time.Duration(90+rng.IntN(120))*time.Minute), true)); err != nil {
				t.Fatal(err)
			}
		case x < 8:
			writes["a new probe"]++
			m := portalAt(minute(rng.IntN(3)), true)
			m.cell.Probe, m.cell.Tile = fmt.Sprintf("n%d", step), tile.Quadkey(tile.At(0.01*float64(1+rng.IntN(9)), 100.31, 15))
			if err := s.write(m); err != nil {
				t.Fatal(err)
			}
		default:
			// Failures from four desa in one minute: an outage of portal
			// there, or more results that end one.
			writes["an outage burst"]++
			at := minute(rng.IntN(10))
			for _, p := range [][3]string{{"a", "99.01.01", ""}, {"b", "99.01.02", ""}, {"c", "99.02.01", ""}, {"d", "99.02.02", ""}} {
				if err := s.write(fail(p[0], p[1], p[2], at)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for range 1 + rng.IntN(3) {
			v, q := views[rng.IntN(len(views))], windows[rng.IntN(len(windows))]
			got, err := v.ask(e, gs, q)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := v.ask(NewEngine(e.regions, e.tiles, e.zoom, e.th), NewGenerationSource(s.source(), s.st.RollupGeneration), q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := v.ref(q)
			if err != nil {
				t.Fatal(err)
			}
			if !same(got, fresh) || !same(got, want) {
				t.Fatalf("step %d, %s of %s..%s %+v:\n  kept %+v\n fresh %+v\n  rows %+v", step, v.name,
					q.From.Format("15:04"), q.To.Format("15:04"), filters{q.Carrier, q.Service}, got, fresh, want)
			}
		}
	}
	t.Logf("writes: %v", writes)
}
