package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// TestRollupGenerationChangesOnlyForTouchedBuckets: a write or pruning
// changes the stamp of every range holding a bucket it changed, at either
// resolution, and of no other range.
func TestRollupGenerationChangesOnlyForTouchedBuckets(t *testing.T) {
	st, err := Open(t.TempDir(), NoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)
	seq := uint64(0)
	write := func(times ...time.Time) {
		t.Helper()
		w := store.Write{Probe: "p", FirstSeq: seq + 1, Received: now}
		for _, at := range times {
			seq++
			w.Results = append(w.Results, wire.Result{Seq: seq, Time: at, Check: "c", Kind: "tcp", Target: "127.0.0.1:1", OK: true})
			w.Cells = append(w.Cells, rollup.Cell{Region: "99.01", Service: rollup.Uplink, Kind: "tcp", Probe: "p"})
		}
		if _, err := st.Write(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	type rng struct {
		res      time.Duration
		from, to time.Time
	}
	h := func(x int) time.Time { return now.Truncate(time.Hour).Add(time.Duration(x) * time.Hour) }
	m := func(x int) time.Time { return now.Add(time.Duration(x) * time.Minute) }
	ranges := map[string]rng{
		"hours 06..12":             {rollup.Hour, h(-6), h(0)},
		"hour 12":                  {rollup.Hour, h(0), h(1)},
		"hour 09":                  {rollup.Hour, h(-3), h(-2)},
		"minutes 12:00..12:30":     {rollup.Minute, h(0), m(0)},
		"minutes 12:30..12:40":     {rollup.Minute, m(0), m(10)},
		"minutes 09:00..09:10":     {rollup.Minute, h(-3), h(-3).Add(10 * time.Minute)},
		"minutes of the whole day": {rollup.Minute, h(-24), h(1)},
	}
	stamps := func() map[string]uint64 {
		out := map[string]uint64{}
		for name, r := range ranges {
			out[name] = st.RollupGeneration(r.res, r.from, r.to)
		}
		return out
	}
	step := func(what string, do func(), changed ...string) {
		t.Helper()
		before := stamps()
		do()
		after := stamps()
		want := map[string]bool{}
		for _, c := range changed {
			want[c] = true
		}
		for name := range ranges {
			if got := after[name] != before[name]; got != want[name] {
				t.Errorf("%s: range %s changed %v, want %v", what, name, got, want[name])
			}
		}
	}
	write(h(-5), m(-20)) // a start
	step("a result in the running minute", func() { write(m(0).Add(5 * time.Second)) },
		"hour 12", "minutes 12:30..12:40", "minutes of the whole day")
	step("a backfill into 09:05", func() { write(h(-3).Add(5 * time.Minute)) },
		"hours 06..12", "hour 09", "minutes 09:00..09:10", "minutes of the whole day")
	step("a write of duplicates only", func() {
		w := store.Write{Probe: "p", FirstSeq: 1, Received: now, Results: []wire.Result{{Seq: 1, Time: h(-5), Check: "c", Kind: "tcp", Target: "127.0.0.1:1"}}, // seq 1 resent as it was
			Cells: []rollup.Cell{{Region: "99.01", Kind: "tcp", Probe: "p"}}}
		if _, err := st.Write(ctx, w); err != nil {
			t.Fatal(err)
		}
	})
	// Minute rows kept 3.5 h, hour rows forever: minutes before 09:00 go.
	step("a pruning of minute rows", func() {
		st2, err := st.Prune(ctx, Retention{Minute: 3*time.Hour + 30*time.Minute, Now: func() time.Time { return now }})
		if err != nil || st2.MinuteRows == 0 {
			t.Fatalf("prune: %+v %v", st2, err)
		}
	}, "minutes of the whole day")
	step("a pruning that deletes nothing", func() {
		if _, err := st.Prune(ctx, Retention{Minute: 3*time.Hour + 30*time.Minute, Now: func() time.Time { return now }}); err != nil {
			t.Fatal(err)
		}
	})
	step("a pruning of hour rows", func() {
		if _, err := st.Prune(ctx, Retention{Hour: 4 * time.Hour, Now: func() time.Time { return now }}); err != nil {
			t.Fatal(err)
		}
	}, "hours 06..12")
	// After the pruning dropped its stamps, a later write into a bucket
	// below the cutoff still changes its ranges.
	step("a late write below the pruned minutes", func() { write(h(-5).Add(time.Minute)) }, "minutes of the whole day", "hours 06..12")
}
