package probe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check"
	"github.com/jangkau/jangkau/wire"
)

// fakeChecker takes a fixed time and counts how many of its runs, and of
// all fakes sharing gauge, overlap.
type fakeChecker struct {
	cc        checkspec.CheckConfig
	took      time.Duration
	ignoreCtx bool // a checker that breaks its contract
	running   atomic.Int32
	maxSelf   atomic.Int32
	global    *gauge
}

type gauge struct{ cur, max atomic.Int32 }

func (g *gauge) inc() {
	n := g.cur.Add(1)
	for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
	}
}

func (f *fakeChecker) Run(ctx context.Context, _ *slog.Logger) wire.Result {
	start := time.Now()
	if n := f.running.Add(1); n > f.maxSelf.Load() {
		f.maxSelf.Store(n)
	}
	defer f.running.Add(-1)
	if f.global != nil {
		f.global.inc()
		defer f.global.cur.Add(-1)
	}
	var err error
	if f.ignoreCtx {
		time.Sleep(f.took)
	} else {
		select {
		case <-time.After(f.took):
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	return check.Done(f.cc, start, err)
}

// collect is a sink that keeps results.
type collect struct {
	mu sync.Mutex
	rs []wire.Result
}

func (c *collect) sink(r wire.Result) {
	c.mu.Lock()
	c.rs = append(c.rs, r)
	c.mu.Unlock()
}

func (c *collect) byCheck(name string) []wire.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []wire.Result
	for _, r := range c.rs {
		if r.Check == name {
			out = append(out, r)
		}
	}
	return out
}

func TestSchedulerSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := checkspec.CheckConfig{Name: "portal", Kind: wire.KindHTTP, Interval: 10 * time.Second, Timeout: 2 * time.Second}
		f := &fakeChecker{cc: cc, took: 300 * time.Millisecond}
		var got collect
		s := NewScheduler("p1", discard, 4, got.sink)
		s.Add(cc, f)
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		s.Run(ctx)

		rs := got.byCheck("portal")
		if n := len(rs); n < 359 || n > 361 {
			t.Errorf("%d runs in an hour every 10 s, want 360±1", n)
		}
		offset := spread("p1\x00"+cc.Name, cc.Interval, grainOf(cc.Kind))
		for i, r := range rs {
			if !r.OK {
				t.Fatalf("run %d failed: %s", i, r.Error)
			}
			if phase := r.Time.Sub(time.Unix(0, 0)) % cc.Interval; phase != offset {
				t.Fatalf("run %d at %s: phase %s, want the check's offset %s (drift)", i, r.Time, phase, offset)
			}
			if i > 0 && r.Time.Sub(rs[i-1].Time) != cc.Interval {
				t.Fatalf("runs %d and %d are %s apart, want %s", i-1, i, r.Time.Sub(rs[i-1].Time), cc.Interval)
			}
		}
	})
}

func TestSchedulerSlowCheckSkipsSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := checkspec.CheckConfig{Name: "slow", Kind: wire.KindTCP, Interval: 10 * time.Second, Timeout: 5 * time.Second}
		f := &fakeChecker{cc: cc, took: 25 * time.Second, ignoreCtx: true}
		var got collect
		s := NewScheduler("p1", discard, 4, got.sink)
		s.Add(cc, f)
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		s.Run(ctx)

		if m := f.maxSelf.Load(); m != 1 {
			t.Errorf("%d runs of one check at once, want 1", m)
		}
		// A 25 s run ends 5 s before its third slot: one run every 30 s.
		rs := got.byCheck("slow")
		if n := len(rs); n < 119 || n > 121 {
			t.Errorf("%d runs, want 120±1 (missed slots skipped, no burst)", n)
		}
		for i := 1; i < len(rs); i++ {
			if d := rs[i].Time.Sub(rs[i-1].Time); d != 30*time.Second {
				t.Fatalf("runs %d and %d are %s apart, want 30s", i-1, i, d)
			}
		}
	})
}

func TestSchedulerConcurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g gauge
		var got collect
		s := NewScheduler("p1", discard, 3, got.sink)
		var fakes []*fakeChecker
		for i := range 20 {
			cc := checkspec.CheckConfig{Name: fmt.Sprintf("c%02d", i), Kind: wire.KindTCP, Interval: 10 * time.Second, Timeout: 5 * time.Second}
			f := &fakeChecker{cc: cc, took: 4 * time.Second, global: &g}
			fakes = append(fakes, f)
			s.Add(cc, f)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		s.Run(ctx)

		if m := g.max.Load(); m != 3 {
			t.Errorf("at most %d checks ran at once, want exactly the bound 3", m)
		}
		for _, f := range fakes {
			if len(got.byCheck(f.cc.Name)) == 0 {
				t.Errorf("check %s never ran", f.cc.Name)
			}
		}
	})
}

func TestSchedulerShutdownWaitsAndDropsCutRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := checkspec.CheckConfig{Name: "long", Kind: wire.KindTCP, Interval: 10 * time.Second, Timeout: 9 * time.Second}
		f := &fakeChecker{cc: cc, took: 8 * time.Second}
		var got collect
		s := NewScheduler("p1", discard, 1, got.sink)
		s.Add(cc, f)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()

		// Cancel in the middle of the first run.
		time.Sleep(spread("p1\x00"+cc.Name, cc.Interval, grainOf(cc.Kind)) + 4*time.Second)
		synctest.Wait()
		if f.running.Load() != 1 {
			t.Fatal("first run not in flight")
		}
		cancel()
		<-done
		if f.running.Load() != 0 {
			t.Error("Run returned with a check in flight")
		}
		if rs := got.byCheck("long"); len(rs) != 0 {
			t.Errorf("a run cut by shutdown reached the sink: %+v", rs)
		}
	})
}

func TestNextSlot(t *testing.T) {
	epoch := time.Unix(0, 0)
	tests := []struct {
		now, interval, offset, want time.Duration // since the epoch
	}{
		{now: 0, interval: 10, offset: 3, want: 3},
		{now: 3, interval: 10, offset: 3, want: 13},
		{now: 4, interval: 10, offset: 3, want: 13},
		{now: 12, interval: 10, offset: 3, want: 13},
		{now: 47, interval: 10, offset: 0, want: 50},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.now*time.Second), func(t *testing.T) {
			s := time.Second
			got := nextSlot(epoch.Add(tc.now*s), tc.interval*s, tc.offset*s)
			if want := epoch.Add(tc.want * s); !got.Equal(want) {
				t.Errorf("nextSlot = %s, want %s", got.Sub(epoch), want.Sub(epoch))
			}
		})
	}
}

func TestSchedulerUpdateReplacesSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mk := func(name string, interval time.Duration, took time.Duration, g *gauge) *fakeChecker {
			cc := checkspec.CheckConfig{Name: name, Kind: wire.KindTCP, Interval: interval, Timeout: interval * 9 / 10}
			return &fakeChecker{cc: cc, took: took, global: g}
		}
		var bGauge gauge
		keep := mk("keep", 10*time.Second, time.Second, nil)
		gone := mk("gone", 10*time.Second, 8*time.Second, nil)
		oldB := mk("b", 10*time.Second, 9*time.Second, &bGauge)
		newB := mk("b", 20*time.Second, 9*time.Second, &bGauge)
		added := mk("added", 15*time.Second, time.Second, nil)

		var got collect
		s := NewScheduler("p1", discard, 8, got.sink)
		for _, f := range []*fakeChecker{keep, gone, oldB} {
			s.Add(f.cc, f)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()

		time.Sleep(time.Minute)
		for gone.running.Load() == 0 { // replace while a removed check is in flight
			time.Sleep(time.Second)
			synctest.Wait()
		}
		updated := time.Now()
		var built []string
		build := func(cc checkspec.CheckConfig) (check.Checker, error) {
			built = append(built, cc.Name)
			return map[string]*fakeChecker{"b": newB, "added": added}[cc.Name], nil
		}
		// keep is passed as an equal copy: equal by value is unchanged.
		if err := s.Update([]checkspec.CheckConfig{keep.cc, newB.cc, added.cc}, build); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if gone.running.Load() != 0 {
			t.Error("a removed check's run is still in flight after Update")
		}
		if want := []string{"added", "b", "keep"}; fmt.Sprint(s.Names()) != fmt.Sprint(want) {
			t.Errorf("scheduled %v, want %v", s.Names(), want)
		}
		time.Sleep(3 * time.Minute)
		cancel()
		<-done

		if fmt.Sprint(built) != "[b added]" {
			t.Errorf("built %v, want only the changed and the new check [b added]", built)
		}
		assertSlots(t, got.byCheck("keep"), keep.cc, time.Time{}, time.Time{})
		if n := len(got.byCheck("keep")); n < 23 {
			t.Errorf("keep ran %d times in 4 min, want 24±1: it was disturbed", n)
		}
		for _, r := range got.byCheck("gone") {
			if !r.Time.Before(updated) {
				t.Errorf("removed check ran at %s, after the update at %s", r.Time, updated)
			}
		}
		if m := bGauge.max.Load(); m != 1 {
			t.Errorf("old and new b overlapped: %d runs at once", m)
		}
		assertSlots(t, got.byCheck("b"), oldB.cc, time.Time{}, updated)
		assertSlots(t, got.byCheck("b"), newB.cc, updated, time.Time{})
		assertSlots(t, got.byCheck("added"), added.cc, updated, time.Time{})
		if len(got.byCheck("added")) < 11 {
			t.Errorf("added ran %d times in 3 min every 15 s", len(got.byCheck("added")))
		}
	})
}

// assertSlots checks that the OK results of cc in [from, to) (zero: open)
// sit on cc's slots, one interval apart.
func assertSlots(t *testing.T, rs []wire.Result, cc checkspec.CheckConfig, from, to time.Time) {
	t.Helper()
	offset := spread("p1\x00"+cc.Name, cc.Interval, grainOf(cc.Kind))
	var prev time.Time
	n := 0
	for _, r := range rs {
		if r.Time.Before(from) || (!to.IsZero() && !r.Time.Before(to)) {
			continue
		}
		n++
		if phase := r.Time.Sub(time.Unix(0, 0)) % cc.Interval; phase != offset {
			t.Fatalf("%s ran at %s: phase %s, want %s", cc.Name, r.Time, phase, offset)
		}
		if !prev.IsZero() && r.Time.Sub(prev) != cc.Interval {
			t.Fatalf("%s runs at %s and %s, want %s apart", cc.Name, prev, r.Time, cc.Interval)
		}
		prev = r.Time
	}
	if n == 0 {
		t.Errorf("%s has no runs in [%s, %s)", cc.Name, from, to)
	}
}

// TestSpreadGrid: offsets of every interval that holds a grain sit on
// the slotGrain grid and cover it, whatever the interval (no threshold
// tuned to one interval); an interval shorter than a grain and kinds
// without a grain keep fine offsets.
func TestSpreadGrid(t *testing.T) {
	for _, iv := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 60 * time.Second} {
		points := map[time.Duration]bool{}
		for i := range 4000 {
			o := spread(fmt.Sprintf("p1\x00check-%d", i), iv, slotGrain)
			if o < 0 || o >= iv || o%slotGrain != 0 {
				t.Fatalf("offset %s of a %s interval is not on the %s grid within the interval", o, iv, slotGrain)
			}
			points[o] = true
		}
		if want := int(iv / slotGrain); len(points) != want {
			t.Errorf("4000 checks every %s use %d of the %d grid points", iv, len(points), want)
		}
	}
	short := slotGrain * 4 / 5
	fineShort, fineNoGrain := false, false
	for i := range 1000 {
		name := fmt.Sprintf("p1\x00check-%d", i)
		if s := spread(name, short, slotGrain); s < 0 || s >= short {
			t.Fatalf("offset %s outside a %s interval", s, short)
		} else if s%time.Millisecond != 0 {
			fineShort = true
		}
		if s := spread(name, 5*time.Second, 0); s%time.Millisecond != 0 {
			fineNoGrain = true
		}
	}
	if !fineShort || !fineNoGrain {
		t.Errorf("fine offsets: interval shorter than a grain %v, no grain %v; both should keep them", fineShort, fineNoGrain)
	}
	if grainOf(wire.KindHTTP) != 0 || grainOf(wire.KindICMP) != slotGrain {
		t.Errorf("grains: http %s, icmp %s; only icmp, kernel-stamped, may start on the grid", grainOf(wire.KindHTTP), grainOf(wire.KindICMP))
	}
}
