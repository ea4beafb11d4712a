package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/collector/store/storetest"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// testConfig is the InfluxDB that scripts/influxdb.sh started. Without
// one the tests skip, except in CI, which starts it (testenv).
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg := Config{URL: os.Getenv("JANGKAU_INFLUXDB_URL"), Token: os.Getenv("JANGKAU_INFLUXDB_TOKEN"),
		Bucket: os.Getenv("JANGKAU_INFLUXDB_BUCKET")}
	if cfg.URL == "" || cfg.Bucket == "" {
		msg := `no InfluxDB: run eval "$(bash scripts/influxdb.sh start)" to set JANGKAU_INFLUXDB_URL, _TOKEN and _BUCKET`
		testenv.Missing(t, "%s", msg)
	}
	return cfg
}

var dbSeq atomic.Int64

// freshDatabase creates a database of its own for one test and drops it
// at the end: tests never see each other's points.
func freshDatabase(t *testing.T) Config {
	t.Helper()
	cfg := testConfig(t)
	ctx := context.Background()
	admin, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("jangkau_test_%d_%d", time.Now().UnixNano(), dbSeq.Add(1))
	// An infinite retention policy: the suite's results are dated
	// 2026-11-27 whatever the day the tests run.
	if err := admin.exec(ctx, fmt.Sprintf(`CREATE DATABASE %s WITH DURATION INF NAME "rp"`, quoteIdent(name))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.exec(context.Background(), "DROP DATABASE "+quoteIdent(name)); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
		admin.Close()
	})
	cfg.Bucket = name + "/rp"
	return cfg
}

func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	st, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, freshDatabase(t)) })
}

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

func batch(first, n uint64) []wire.Result {
	out := make([]wire.Result, 0, n)
	for s := first; s < first+n; s++ {
		out = append(out, wire.Result{Seq: s, Time: t0.Add(time.Duration(s) * time.Second), Check: "portal",
			Kind: wire.KindHTTP, Target: "https://x.example/", Service: "perizinan", OK: s%5 != 0, DurationMS: float64(s % 100)})
	}
	return out
}

// TestTwoCollectors: two stores on one database, as two collectors behind
// a load balancer, get overlapping and resent batches of one probe at
// once. Every result is stored once and the shared state is exact.
func TestTwoCollectors(t *testing.T) {
	cfg := freshDatabase(t)
	a, b := open(t, cfg), open(t, cfg)
	defer a.Close()
	defer b.Close()
	var wg sync.WaitGroup
	for i := range 20 {
		st := a
		if i%2 == 1 {
			st = b
		}
		first := uint64(i/2*50 + 1) // each range of 100 sent to both, overlapping the next
		wg.Go(func() {
			for range 2 {
				if _, err := st.Write(context.Background(), store.Write{Probe: "p", Results: batch(first, 100), Received: t0}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// A last write through each settles what concurrent state points left pending.
	for _, st := range []*Store{a, b} {
		if _, err := st.Write(context.Background(), store.Write{Probe: "p", Results: batch(550, 1), Received: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []*Store{a, b} {
		ps, err := st.Probes(context.Background())
		if err != nil || len(ps) != 1 {
			t.Fatalf("Probes: %v %+v", err, ps)
		}
		if p := ps[0]; p.ResultsStored != 550 || p.AckedSeq != 550 || p.LastSeq != 550 || p.Lost != 0 {
			t.Errorf("state %+v, want 550 stored, acked and last, none lost", p)
		}
	}
	n := 0
	a.Scan(context.Background(), t0, t0.Add(time.Hour), func(store.Record) error { n++; return nil })
	if n != 550 {
		t.Errorf("scan found %d points, want 550", n)
	}
}

// TestPartialWriteRecovers: results written without their state point (a
// collector died between the two) are counted by the next Write.
func TestPartialWriteRecovers(t *testing.T) {
	st := open(t, freshDatabase(t))
	defer st.Close()
	ctx := context.Background()
	var lines []byte
	for _, r := range batch(1, 10) {
		lines = appendResult(lines, "p", &r, rollup.Cell{}, st.precision)
	}
	if err := st.write.WriteRecord(ctx, string(lines)); err != nil {
		t.Fatal(err)
	}
	res, err := st.Write(ctx, store.Write{Probe: "p", Results: batch(1, 12), Received: t0})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 2 || res.Duplicates != 10 || res.AckedSeq != 12 {
		t.Errorf("resend after a partial write: %+v, want 2 stored, 10 duplicates, acked 12", res)
	}
	ps, _ := st.Probes(ctx)
	if len(ps) != 1 || ps[0].ResultsStored != 12 {
		t.Errorf("probes %+v, want 12 stored", ps)
	}
}

// TestFieldsRoundTrip: every field of a result survives, including text
// that line protocol must escape.
func TestFieldsRoundTrip(t *testing.T) {
	st := open(t, freshDatabase(t))
	defer st.Close()
	r := wire.Result{Seq: 1, Time: t0.Add(1500 * time.Millisecond), Check: "odd name,=x", Kind: wire.KindICMP,
		Target: `10.0.0.1 "q" \ end`, OK: false, DurationMS: 1e-7, StatusCode: 503, ErrorClass: "timeout",
		Error: "line one\nline \"two\"\\", Location: &wire.Location{Lat: -6.2, Lon: 106.8},
		Phases: map[string]float64{"loss": 0.4, "rtt_avg": 12.5}}
	cell := rollup.Cell{Region: "36.01.05.2003", Tile: "132110", Carrier: "tel kom", Service: rollup.Uplink, Kind: wire.KindICMP, Probe: "p"}
	if _, err := st.Write(context.Background(), store.Write{Probe: "p", Results: []wire.Result{r}, Cells: []rollup.Cell{cell}, Received: t0}); err != nil {
		t.Fatal(err)
	}
	var got []store.Record
	st.Scan(context.Background(), t0, t0.Add(time.Minute), func(rec store.Record) error { got = append(got, rec); return nil })
	if len(got) != 1 {
		t.Fatalf("scan: %d records", len(got))
	}
	g := got[0]
	if g.Location == nil || *g.Location != *r.Location {
		t.Errorf("location %v, want %v", g.Location, r.Location)
	}
	g.Location, r.Location = nil, nil
	want := fmt.Sprintf("%+v", r)
	if have := fmt.Sprintf("%+v", g.Result); have != want || g.Probe != "p" {
		t.Errorf("scan gave\n%s\nwant\n%s", have, want)
	}
	var cells []rollup.Cell
	st.Rollups(context.Background(), rollup.Minute, t0, t0.Add(time.Minute), func(_ time.Time, c rollup.Cell, a *rollup.Agg) error {
		cells = append(cells, c)
		if a.Count != 1 || a.Loss() != 0.4 {
			t.Errorf("agg %+v", a)
		}
		return nil
	})
	if len(cells) != 1 || cells[0] != cell {
		t.Errorf("rollup cells %+v, want %+v", cells, cell)
	}
}

func TestPendingEncoding(t *testing.T) {
	p := map[uint64]byte{5: 's', 6: 's', 7: 's', 8: 'r', 10: 's', 12: 'r', 13: 'r'}
	s := encodePending(p)
	if s != "s5-7,r8,s10,r12-13" {
		t.Errorf("encoded %q", s)
	}
	back := map[uint64]byte{}
	if err := decodePending(s, back); err != nil || fmt.Sprint(back) != fmt.Sprint(p) {
		t.Errorf("decoded %v %v, want %v", back, err, p)
	}
	for _, bad := range []string{"x1", "s", "s3-1", "s1-", "s-1"} {
		if err := decodePending(bad, map[uint64]byte{}); err == nil {
			t.Errorf("decodePending(%q) accepted", bad)
		}
	}
}

// TestMergeConcurrentStates: two collectors wrote state points from the
// same starting state; the merge counts both.
func TestMergeConcurrentStates(t *testing.T) {
	a := stateRow{acked: 10, stored: 10, lastSeq: 10, pending: map[uint64]byte{}}
	b := stateRow{acked: 3, stored: 3, lastSeq: 20, pending: map[uint64]byte{}}
	for s := uint64(11); s <= 20; s++ {
		b.pending[s] = 's'
	}
	b.pending[21] = 'r'
	st := mergeState([]stateRow{b, a})
	if st.acked != 21 || st.resultsStored() != 20 || st.lastSeq != 20 || len(st.pending) != 0 {
		t.Errorf("merged %+v", st)
	}
}

// quoteIdent is an InfluxQL identifier (the test's database names).
func quoteIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// openAs opens the store as a collector of its own.
func openAs(t *testing.T, cfg Config, id string, poll time.Duration) *Store {
	t.Helper()
	cfg.CollectorID, cfg.ChangePoll = id, poll
	return open(t, cfg)
}

// TestSameAsEmbedded: two collectors on one database give the rollups and
// the coverage the embedded store gives for the same results.
func TestSameAsEmbedded(t *testing.T) {
	storetest.RunSame(t, func(t *testing.T) store.Store {
		st, err := embedded.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, func(t *testing.T) storetest.Collectors {
		cfg := freshDatabase(t)
		const poll = 200 * time.Millisecond
		return storetest.Collectors{First: openAs(t, cfg, "c1", poll), Second: openAs(t, cfg, "c2", poll), Settle: poll + 50*time.Millisecond}
	})
}

// rollupRows is every row of a resolution in [from, to), one a line.
func rollupRows(t *testing.T, st *Store, res time.Duration, from, to time.Time) []string {
	t.Helper()
	var out []string
	err := st.Rollups(context.Background(), res, from, to, func(b time.Time, c rollup.Cell, a *rollup.Agg) error {
		out = append(out, fmt.Sprintf("%s %+v %d %d %g", b.Format(time.RFC3339), c, a.Count, a.OK, a.Quantile(0.95)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestViewsNeverReadRaw: with the raw points gone, the rollups (what
// coverage, tiles, services and blank spots read) are what they were.
func TestViewsNeverReadRaw(t *testing.T) {
	st := open(t, freshDatabase(t))
	defer st.Close()
	ctx := context.Background()
	rs := batch(1, 300)
	cells := make([]rollup.Cell, len(rs))
	for i := range cells {
		cells[i] = rollup.Cell{Region: "36.01.05", Tile: "1321", Carrier: "tsel", Service: "perizinan", Kind: wire.KindHTTP, Probe: "p"}
	}
	if _, err := st.Write(ctx, store.Write{Probe: "p", Results: rs, Cells: cells, Received: t0}); err != nil {
		t.Fatal(err)
	}
	var before [2][]string
	for i, res := range []time.Duration{rollup.Minute, rollup.Hour} {
		before[i] = rollupRows(t, st, res, t0, t0.Add(2*time.Hour))
		if len(before[i]) == 0 {
			t.Fatalf("no %s rollups after writing %d results", res, len(rs))
		}
	}
	if err := st.exec(ctx, "DROP MEASUREMENT "+measResult); err != nil {
		t.Fatal(err)
	}
	if n := len(scan(t, st)); n != 0 {
		t.Fatalf("%d raw points left after DROP MEASUREMENT", n)
	}
	for i, res := range []time.Duration{rollup.Minute, rollup.Hour} {
		if after := rollupRows(t, st, res, t0, t0.Add(2*time.Hour)); fmt.Sprint(after) != fmt.Sprint(before[i]) {
			t.Errorf("%s rollups without the raw points:\n%s\nwith them:\n%s", res, strings.Join(after, "\n"), strings.Join(before[i], "\n"))
		}
	}
}

func scan(t *testing.T, st *Store) []store.Record {
	t.Helper()
	var out []store.Record
	if err := st.Scan(context.Background(), t0.Add(-time.Hour), t0.Add(3*time.Hour), func(r store.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOtherCollectorsStamp: a Write through one collector changes the
// other's RollupGeneration of the buckets it touched within one change
// poll, and leaves other buckets' alone; its own Writes stamp at once.
func TestOtherCollectorsStamp(t *testing.T) {
	cfg := freshDatabase(t)
	const poll = 300 * time.Millisecond
	a, b := openAs(t, cfg, "a", poll), openAs(t, cfg, "b", poll)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	late := t0.Add(2 * time.Hour) // buckets b writes into
	gens := func(st *Store) [3]uint64 {
		return [3]uint64{st.RollupGeneration(rollup.Minute, late, late.Add(time.Minute)),
			st.RollupGeneration(rollup.Hour, late, late.Add(time.Hour)),
			st.RollupGeneration(rollup.Hour, t0, t0.Add(time.Hour))}
	}
	if _, err := a.Write(ctx, store.Write{Probe: "p", Results: batch(1, 10), Received: t0}); err != nil {
		t.Fatal(err)
	}
	if g := a.RollupGeneration(rollup.Hour, t0, t0.Add(time.Hour)); g == 0 {
		t.Errorf("own write left the hour's generation at 0")
	}
	time.Sleep(poll)
	before := gens(a)
	r := batch(11, 1)
	r[0].Time = late.Add(10 * time.Second)
	if _, err := b.Write(ctx, store.Write{Probe: "q", Results: r, Received: t0}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var after [3]uint64
	for {
		after = gens(a)
		if after[0] != before[0] || time.Since(start) > 3*poll {
			break
		}
		time.Sleep(poll / 10)
	}
	if waited := time.Since(start); after[0] == before[0] || after[1] == before[1] || waited > poll+poll/2 {
		t.Errorf("generations %v before b's write, %v %s after; want the minute's and the hour's changed within %s", before, after, waited, poll)
	}
	if after[2] != before[2] {
		t.Errorf("an hour b did not write changed its generation: %d -> %d", before[2], after[2])
	}
}

// TestRollupSchemaNames: the exported rollup names are what the encoder
// writes.
func TestRollupSchemaNames(t *testing.T) {
	ta := tileAggs{}
	ta.add("1321", &wire.Result{Time: t0, Kind: wire.KindICMP, OK: true, DurationMS: 3, Phases: map[string]float64{"loss": 0.5}})
	line := strings.TrimSpace(string(appendRollup(nil, RollupMeasurements[rollup.Hour], "c1",
		pointKey{rollSeries{"p", "36.01.05", "tsel", "uplink", "icmp"}, t0.UnixNano()}, ta)))
	parts := strings.Split(line, " ")
	if len(parts) != 3 {
		t.Fatalf("line %q", line)
	}
	head := strings.Split(parts[0], ",")
	if head[0] != measRollupHour {
		t.Errorf("measurement %q", head[0])
	}
	var tags, fields []string
	for _, kv := range head[1:] {
		tags = append(tags, strings.SplitN(kv, "=", 2)[0])
	}
	for _, kv := range strings.Split(parts[1], ",") {
		fields = append(fields, strings.SplitN(kv, "=", 2)[0])
	}
	sorted := func(s []string) string { return fmt.Sprint(slices.Sorted(slices.Values(s))) }
	if sorted(tags) != sorted(RollupTags) || sorted(fields) != sorted(RollupFields) {
		t.Errorf("written tags %v fields %v; RollupTags %v RollupFields %v", tags, fields, RollupTags, RollupFields)
	}
}

// TestRebuildRollups: raw points written without rollups (by a version
// before them) are reported at open and, once rebuilt, give the rollups a
// Write of the same results gives.
func TestRebuildRollups(t *testing.T) {
	ctx := context.Background()
	rs := batch(1, 200)
	now := time.Now().Truncate(time.Second)
	for i := range rs {
		rs[i].Time = now.Add(-time.Duration(200-i) * 20 * time.Second) // within the last 24 h: the open check's window
	}
	cell := rollup.Cell{Region: "36.01.05", Tile: "1321", Carrier: "tsel", Service: "perizinan", Kind: wire.KindHTTP, Probe: "p"}
	cells := slices.Repeat([]rollup.Cell{cell}, len(rs))

	ref := open(t, freshDatabase(t))
	defer ref.Close()
	if _, err := ref.Write(ctx, store.Write{Probe: "p", Results: rs, Cells: cells, Received: now}); err != nil {
		t.Fatal(err)
	}
	cfg := freshDatabase(t)
	old := open(t, cfg)
	defer old.Close()
	var lines []byte
	for i := range rs {
		lines = appendResult(lines, "p", &rs[i], cell, old.precision)
	}
	if err := old.write.WriteRecord(ctx, string(lines)); err != nil {
		t.Fatal(err)
	}
	if err := old.checkRollups(ctx, 24*time.Hour); !errors.Is(err, errNoRollups) {
		t.Errorf("checkRollups on raw points alone: %v, want errNoRollups", err)
	}
	var logged strings.Builder
	reopened, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	reopened.Close()
	if !strings.Contains(logged.String(), "rollup-rebuild") {
		t.Errorf("open logged %q, want the rebuild command named", logged.String())
	}
	from, to := rs[0].Time.Truncate(time.Hour), rs[len(rs)-1].Time.Add(time.Hour)
	var hours int
	if err := old.RebuildRollups(ctx, rs[0].Time, rs[len(rs)-1].Time.Add(time.Second), func(p RebuildProgress) { hours = p.Done }); err != nil {
		t.Fatal(err)
	}
	if hours == 0 {
		t.Errorf("no progress reported")
	}
	if err := old.checkRollups(ctx, 24*time.Hour); err != nil {
		t.Errorf("checkRollups after the rebuild: %v", err)
	}
	for _, res := range []time.Duration{rollup.Minute, rollup.Hour} {
		want, got := rollupRows(t, ref, res, from, to), rollupRows(t, old, res, from, to)
		if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s rollups rebuilt:\n%s\nwritten with the results:\n%s", res, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestTwoCollectorsRollupsExact: two collectors (their own ids) get
// overlapping batches of one probe at once, each sent once (no later
// Write mends a minute): the minute and hour rollups count every result
// once, as the raw points do.
func TestTwoCollectorsRollupsExact(t *testing.T) {
	cfg := freshDatabase(t)
	a, b := openAs(t, cfg, "a", time.Second), openAs(t, cfg, "b", time.Second)
	defer a.Close()
	defer b.Close()
	var wg sync.WaitGroup
	for i := range 20 {
		st := a
		if i%2 == 1 {
			st = b
		}
		first := uint64(i/2*50 + 1) // each range of 100 sent to both, overlapping the next
		wg.Go(func() {
			if _, err := st.Write(context.Background(), store.Write{Probe: "p", Results: batch(first, 100), Received: t0}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	raw := len(scan(t, a))
	if raw != 550 {
		t.Fatalf("%d raw points, want 550", raw)
	}
	for _, st := range []*Store{a, b} {
		for _, res := range []time.Duration{rollup.Minute, rollup.Hour} {
			var n, ok uint64
			err := st.Rollups(context.Background(), res, t0, t0.Add(time.Hour), func(_ time.Time, _ rollup.Cell, ag *rollup.Agg) error {
				n, ok = n+ag.Count, ok+ag.OK
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != 550 || ok != 440 { // batch fails every fifth seq
				t.Errorf("collector %s: %s rollups count %d (%d ok), want 550 (440)", st.collector, res, n, ok)
			}
		}
	}
}

// TestMinuteChunksFollowWrites: minute rollups read after a Write into an
// hour whose minute points a store keeps (chunks.go) show that Write: at
// once for its own, within one change poll for another collector's, and
// the same rows as a store that keeps nothing.
func TestMinuteChunksFollowWrites(t *testing.T) {
	cfg := freshDatabase(t)
	const poll = 300 * time.Millisecond
	a, b := openAs(t, cfg, "a", poll), openAs(t, cfg, "b", poll)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	at := func(seq uint64, d time.Duration) []wire.Result {
		r := batch(seq, 1)
		r[0].Time = t0.Add(d)
		return r
	}
	count := func(st *Store, from, to time.Time) (n uint64) {
		t.Helper()
		err := st.Rollups(ctx, rollup.Minute, from, to, func(_ time.Time, _ rollup.Cell, a *rollup.Agg) error {
			n += a.Count
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	same := func(step string) {
		t.Helper()
		fresh := openAs(t, cfg, "fresh", poll)
		defer fresh.Close()
		got, want := rollupRows(t, a, rollup.Minute, t0, t0.Add(time.Hour)), rollupRows(t, fresh, rollup.Minute, t0, t0.Add(time.Hour))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("after %s: the hour's minute rollups\n%s\na store that keeps nothing reads\n%s", step, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if _, err := a.Write(ctx, store.Write{Probe: "p", Results: batch(1, 10), Received: t0}); err != nil {
		t.Fatal(err)
	}
	if n := count(a, t0, t0.Add(time.Hour)); n != 10 {
		t.Fatalf("%d results in the minute rollups after writing 10", n)
	}
	five := t0.Add(5 * time.Minute)
	if n := count(a, five, five.Add(time.Minute)); n != 0 {
		t.Fatalf("%d results at 08:05 before any was written there", n)
	}
	if _, err := a.Write(ctx, store.Write{Probe: "p", Results: at(11, 5*time.Minute+time.Second), Received: t0}); err != nil {
		t.Fatal(err)
	}
	if n := count(a, five, five.Add(time.Minute)); n != 1 {
		t.Errorf("own write of 1 result at 08:05: the minute's rollups count %d", n)
	}
	same("an own write")
	seven := t0.Add(7 * time.Minute)
	if n := count(a, seven, seven.Add(time.Minute)); n != 0 {
		t.Fatalf("%d results at 08:07 before any was written there", n)
	}
	if _, err := b.Write(ctx, store.Write{Probe: "q", Results: at(1, 7*time.Minute+time.Second), Received: t0}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(poll + poll/2)
	if n := count(a, seven, seven.Add(time.Minute)); n != 1 {
		t.Errorf("the other collector's write of 1 result at 08:07, one poll later: the minute's rollups count %d", n)
	}
	same("another collector's write")
}
