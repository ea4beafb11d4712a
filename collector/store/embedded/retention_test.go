package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// writeHours stores one result of probe p at the start of each of n hours
// from t0, each in its cell.
func writeHours(t *testing.T, st *Store, p string, t0 time.Time, n int) {
	t.Helper()
	w := store.Write{Probe: p, FirstSeq: 1, Received: t0}
	for i := range n {
		w.Results = append(w.Results, wire.Result{Seq: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Hour),
			Check: "c", Kind: "tcp", Target: "127.0.0.1:1", OK: true, DurationMS: 5})
		w.Cells = append(w.Cells, rollup.Cell{Region: "99.01", Service: rollup.Uplink, Kind: "tcp", Probe: p})
	}
	if _, err := st.Write(context.Background(), w); err != nil {
		t.Fatal(err)
	}
}

type counts struct{ results, minute, hour int }

func count(t *testing.T, st *Store) counts {
	t.Helper()
	var c counts
	ctx := context.Background()
	far := time.Unix(1<<40, 0)
	if err := st.Scan(ctx, time.Unix(0, 1), far, func(store.Record) error { c.results++; return nil }); err != nil {
		t.Fatal(err)
	}
	for res, n := range map[time.Duration]*int{rollup.Minute: &c.minute, rollup.Hour: &c.hour} {
		if err := st.Rollups(ctx, res, time.Unix(0, 1), far, func(time.Time, rollup.Cell, *rollup.Agg) error { *n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestPrune(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	// 100 hours of results, one an hour: hours now-100h .. now-1h.
	t0 := now.Add(-100 * time.Hour)
	for _, tc := range []struct {
		name string
		r    Retention
		want counts
	}{
		{"forever", Retention{}, counts{100, 100, 100}},
		// Results at now-10h and later stay: ten of them.
		{"raw", Retention{Raw: 10 * time.Hour}, counts{10, 100, 100}},
		// A minute row goes once its whole minute is older than 10h.
		{"minute", Retention{Minute: 10*time.Hour + time.Second}, counts{100, 10, 100}},
		{"hour", Retention{Hour: 48 * time.Hour}, counts{100, 100, 49}},
		{"all", Retention{Raw: 24 * time.Hour, Minute: 48 * time.Hour, Hour: 72 * time.Hour}, counts{24, 48, 73}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			writeHours(t, st, "p", t0, 100)
			tc.r.Now = func() time.Time { return now }
			stats, err := st.Prune(context.Background(), tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if got := count(t, st); got != tc.want {
				t.Errorf("kept %+v, want %+v", got, tc.want)
			}
			// One probe in one region: a region row per cell row.
			if d := (PruneStats{Results: 100 - tc.want.results, MinuteRows: 100 - tc.want.minute, HourRows: 100 - tc.want.hour,
				RegionMinuteRows: 100 - tc.want.minute, RegionHourRows: 100 - tc.want.hour}); stats != d {
				t.Errorf("stats %+v, want %+v", stats, d)
			}
		})
	}
}

// TestPruneInChunks deletes more than one transaction's worth.
func TestPruneInChunks(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	n := 2*pruneChunk + 10
	w := store.Write{Probe: "p", FirstSeq: 1, Received: now}
	for i := range n {
		w.Results = append(w.Results, wire.Result{Seq: uint64(i + 1), Time: now.Add(-48*time.Hour + time.Duration(i)*time.Millisecond),
			Check: "c", Kind: "tcp", Target: "127.0.0.1:1"})
	}
	if _, err := st.Write(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	stats, err := st.Prune(context.Background(), Retention{Raw: 24 * time.Hour, Now: func() time.Time { return now }})
	if err != nil || stats.Results != n {
		t.Fatalf("pruned %+v, %v; want %d results", stats, err, n)
	}
	if got := count(t, st); got.results != 0 {
		t.Errorf("%d results left", got.results)
	}
}

// TestPruneAtOpenAndEveryInterval runs the background loop on an injected
// clock: it prunes at open, and again on its ticker.
func TestPruneAtOpenAndEveryInterval(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeHours(t, st, "p", now.Add(-100*time.Hour), 100)
	st.Close()

	clock := make(chan time.Time, 1)
	clock <- now
	cur := now
	pruned := make(chan PruneStats, 10)
	st, err = Open(dir, WithRetention(Retention{Raw: 50 * time.Hour, Every: time.Millisecond,
		Now: func() time.Time {
			select {
			case cur = <-clock:
			default:
			}
			return cur
		},
		OnPrune: func(s PruneStats, err error) {
			if err != nil {
				t.Error(err)
			}
			pruned <- s
		}}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if s := <-pruned; s.Results != 50 {
		t.Errorf("at open: pruned %+v, want 50 results", s)
	}
	clock <- now.Add(10 * time.Hour) // the next tick sees ten hours later
	for s := range pruned {
		if s.Results > 0 {
			if s.Results != 10 {
				t.Errorf("on the ticker: pruned %+v, want 10 results", s)
			}
			break
		}
	}
}

func TestGenerationChangesOnWriteAndPrune(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	g0 := st.Generation()
	writeHours(t, st, "p", now.Add(-3*time.Hour), 3)
	g1 := st.Generation()
	if g1 == g0 {
		t.Error("a write that stored results kept the generation")
	}
	writeHours(t, st, "p", now.Add(-3*time.Hour), 3) // duplicates only
	if st.Generation() != g1 {
		t.Error("a write of duplicates changed the generation")
	}
	if _, err := st.Prune(context.Background(), Retention{Hour: time.Hour, Minute: time.Hour, Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	if st.Generation() == g1 {
		t.Error("a pruning that deleted rows kept the generation")
	}
}
