// Package storetest is the one test suite every store.Store implementation
// must pass, so that they behave the same.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// Run runs the suite. newStore returns an empty store; the suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"ScanWindowInTimeOrder", testScanWindow},
		{"DuplicatesStoredOnce", testDuplicates},
		{"AckIsContiguous", testAckContiguous},
		{"RejectedSeqSettles", testRejected},
		{"FirstSeqSettlesGap", testFirstSeq},
		{"FirstSeqBeyondMaxGapRefused", testFirstSeqGap},
		{"SeqAboveMaxSeqRefused", testSeqAboveMax},
		{"NamesRoundTrip", testNamesRoundTrip},
		{"ConcurrentSameBatch", testConcurrent},
		{"ConcurrentOverlappingBatches", testConcurrentOverlap},
		{"ProbeState", testProbeState},
		{"ScanStopsOnError", testScanStops},
		{"RollupsCountStoredResultsOnce", testRollupsOnce},
		{"RollupsBothResolutions", testRollupResolutions},
		{"Closed", testClosed},
		{"NewEpochNewSeqSpace", testNewEpoch},
		{"NewEpochSeqsInOldWindow", testNewEpochSameWindow},
		{"FormerEpochRefused", testFormerEpoch},
		{"FirstEpochKeepsSeqSpace", testFirstEpoch},
		{"UnspooledCountedOnce", testUnspooled},
		{"AdmittedNames", testAdmittedNames},
		{"SeqConflictRefused", testSeqConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			defer st.Close()
			tc.fn(t, st)
		})
	}
}

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// results makes results for seqs, one second apart from t0+seq s.
func results(seqs ...uint64) []wire.Result {
	out := make([]wire.Result, len(seqs))
	for i, s := range seqs {
		out[i] = wire.Result{
			Seq: s, Time: t0.Add(time.Duration(s) * time.Second), Check: "portal",
			Kind: wire.KindHTTP, Target: "http://127.0.0.1:9000/", OK: s%3 != 0,
			DurationMS: float64(s) + 0.5, StatusCode: 200,
			Phases: map[string]float64{"connect": 0.25},
		}
	}
	return out
}

func write(t *testing.T, st store.Store, w store.Write) store.WriteResult {
	t.Helper()
	if w.Received.IsZero() {
		w.Received = t0.Add(time.Hour)
	}
	res, err := st.Write(context.Background(), w)
	if err != nil {
		t.Fatalf("Write(%s, %d results): %v", w.Probe, len(w.Results), err)
	}
	return res
}

func scan(t *testing.T, st store.Store, from, to time.Time) []store.Record {
	t.Helper()
	var out []store.Record
	err := st.Scan(context.Background(), from, to, func(r store.Record) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

func testScanWindow(t *testing.T, st store.Store) {
	// Written out of time order and across two probes.
	write(t, st, store.Write{Probe: "b", Results: results(5, 1, 3)})
	write(t, st, store.Write{Probe: "a", Results: results(2, 4, 6)})
	got := scan(t, st, t0.Add(2*time.Second), t0.Add(6*time.Second))
	var keys []string
	for _, r := range got {
		keys = append(keys, fmt.Sprintf("%s%d", r.Probe, r.Seq))
	}
	want := []string{"a2", "b3", "a4", "b5"} // from inclusive, to exclusive
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("scan = %v, want %v", keys, want)
	}
	r := got[0]
	if !r.Time.Equal(t0.Add(2*time.Second)) || r.Check != "portal" || r.DurationMS != 2.5 ||
		r.Phases["connect"] != 0.25 || r.StatusCode != 200 || !r.OK {
		t.Errorf("record fields not kept: %+v", r)
	}
}

func testDuplicates(t *testing.T, st store.Store) {
	res := write(t, st, store.Write{Probe: "a", Results: results(1, 2, 2, 3)})
	if res.Stored != 3 || res.Duplicates != 1 {
		t.Errorf("first write stored %d dup %d, want 3, 1", res.Stored, res.Duplicates)
	}
	res = write(t, st, store.Write{Probe: "a", Results: results(2, 3, 4)})
	if res.Stored != 1 || res.Duplicates != 2 {
		t.Errorf("second write stored %d dup %d, want 1, 2", res.Stored, res.Duplicates)
	}
	// The same seq from another probe is another result.
	res = write(t, st, store.Write{Probe: "b", Results: results(1)})
	if res.Stored != 1 {
		t.Errorf("probe b seq 1 stored %d, want 1", res.Stored)
	}
	if n := len(scan(t, st, t0, t0.Add(time.Hour))); n != 5 {
		t.Errorf("scan found %d results, want 5", n)
	}
}

func testAckContiguous(t *testing.T, st store.Store) {
	if res := write(t, st, store.Write{Probe: "a", Results: results(1, 2, 4)}); res.AckedSeq != 2 {
		t.Errorf("acked %d after 1,2,4; want 2", res.AckedSeq)
	}
	if res := write(t, st, store.Write{Probe: "a", Results: results(3)}); res.AckedSeq != 4 {
		t.Errorf("acked %d after 3; want 4", res.AckedSeq)
	}
	// Resending below the ack is a duplicate, not a new result.
	if res := write(t, st, store.Write{Probe: "a", Results: results(1, 4)}); res.Duplicates != 2 || res.AckedSeq != 4 {
		t.Errorf("resend: %+v, want 2 duplicates, acked 4", res)
	}
}

func testRejected(t *testing.T, st store.Store) {
	res := write(t, st, store.Write{Probe: "a", Results: results(1, 2, 4), Rejected: []uint64{3}})
	if res.AckedSeq != 4 || res.Stored != 3 {
		t.Errorf("got %+v, want acked 4 with 3 stored", res)
	}
	ps := probeState(t, st, "a")
	if ps.ResultsStored != 3 || ps.LastSeq != 4 {
		t.Errorf("probe state %+v, want 3 stored, last seq 4", ps)
	}
}

func testFirstSeq(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Results: results(1, 2, 3, 7)})
	res := write(t, st, store.Write{Probe: "a", FirstSeq: 10, Results: results(10, 11, 12)})
	if res.AckedSeq != 12 {
		t.Errorf("acked %d, want 12", res.AckedSeq)
	}
	ps := probeState(t, st, "a")
	if ps.Lost != 5 { // 4, 5, 6, 8, 9
		t.Errorf("lost %d, want 5", ps.Lost)
	}
	if ps.ResultsStored != 7 {
		t.Errorf("stored %d, want 7", ps.ResultsStored)
	}
}

func testConcurrent(t *testing.T, st store.Store) {
	seqs := make([]uint64, 200)
	for i := range seqs {
		seqs[i] = uint64(i + 1)
	}
	batch := results(seqs...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := st.Write(context.Background(), store.Write{Probe: "a", Results: batch, Received: t0})
			if err != nil {
				t.Errorf("Write: %v", err)
				return
			}
			mu.Lock()
			stored += res.Stored
			mu.Unlock()
		}()
	}
	wg.Wait()
	if stored != 200 {
		t.Errorf("8 concurrent writers stored %d in all, want 200", stored)
	}
	if n := len(scan(t, st, t0, t0.Add(time.Hour))); n != 200 {
		t.Errorf("scan found %d, want 200", n)
	}
}

func probeState(t *testing.T, st store.Store, id string) store.ProbeState {
	t.Helper()
	ps, err := st.Probes(context.Background())
	if err != nil {
		t.Fatalf("Probes: %v", err)
	}
	for _, p := range ps {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("probe %s not in %+v", id, ps)
	return store.ProbeState{}
}

func testProbeState(t *testing.T, st store.Store) {
	recv := t0.Add(90 * time.Minute)
	write(t, st, store.Write{Probe: "a", Results: results(1, 2), Received: recv})
	// A batch of duplicates only does not move last_seen.
	write(t, st, store.Write{Probe: "a", Results: results(2), Received: recv.Add(time.Minute)})
	write(t, st, store.Write{Probe: "b", Results: results(1)})
	ps := probeState(t, st, "a")
	if !ps.LastSeen.Equal(recv) || ps.LastSeq != 2 || ps.ResultsStored != 2 || ps.AckedSeq != 2 {
		t.Errorf("probe a: %+v", ps)
	}
	all, _ := st.Probes(context.Background())
	if len(all) != 2 {
		t.Errorf("%d probes, want 2", len(all))
	}
}

func testScanStops(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Results: results(1, 2, 3)})
	stop := errors.New("enough")
	n := 0
	err := st.Scan(context.Background(), t0, t0.Add(time.Hour), func(store.Record) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Scan returned %v after %d calls, want the callback's error after 1", err, n)
	}
}

func testClosed(t *testing.T, st store.Store) {
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := st.Write(context.Background(), store.Write{Probe: "a", Results: results(1)})
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}

// testConcurrentOverlap sends overlapping ranges at once, out of order, as
// retries after a lost answer do: each seq is stored once and the
// acknowledgement ends contiguous.
func testConcurrentOverlap(t *testing.T, st store.Store) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored, dups := 0, 0
	for i := 7; i >= 0; i-- {
		seqs := make([]uint64, 100)
		for j := range seqs {
			seqs[j] = uint64(i*50 + j + 1) // i=7: 351..450
		}
		wg.Go(func() {
			res, err := st.Write(context.Background(), store.Write{Probe: "a", Results: results(seqs...), Received: t0})
			if err != nil {
				t.Errorf("Write: %v", err)
				return
			}
			mu.Lock()
			stored, dups = stored+res.Stored, dups+res.Duplicates
			mu.Unlock()
		})
	}
	wg.Wait()
	if stored != 450 || dups != 350 {
		t.Errorf("stored %d, duplicates %d; want 450 and 350", stored, dups)
	}
	ps := probeState(t, st, "a")
	if ps.AckedSeq != 450 || ps.ResultsStored != 450 || ps.LastSeq != 450 || ps.Lost != 0 {
		t.Errorf("probe state %+v, want 450 acked, stored and last, none lost", ps)
	}
}

// withCells gives every result a cell: the probe's region and service.
func withCells(w store.Write, region string) store.Write {
	w.Cells = make([]rollup.Cell, len(w.Results))
	for i, r := range w.Results {
		w.Cells[i] = rollup.Cell{Region: region, Service: rollup.Uplink, Kind: r.Kind, Probe: w.Probe}
	}
	return w
}

type rollupRow struct {
	bucket time.Time
	cell   rollup.Cell
	agg    *rollup.Agg
}

func readRollups(t *testing.T, st store.Store, res time.Duration, from, to time.Time) []rollupRow {
	t.Helper()
	var out []rollupRow
	err := st.Rollups(context.Background(), res, from, to, func(b time.Time, c rollup.Cell, a *rollup.Agg) error {
		out = append(out, rollupRow{b, c, a})
		return nil
	})
	if err != nil {
		t.Fatalf("Rollups(%s): %v", res, err)
	}
	return out
}

// testRollupsOnce: retries, overlaps and concurrent senders never count a
// result twice in the rollups.
func testRollupsOnce(t *testing.T, st store.Store) {
	seqs := make([]uint64, 90)
	for i := range seqs {
		seqs[i] = uint64(i + 1)
	}
	all := results(seqs...)
	write(t, st, withCells(store.Write{Probe: "a", Results: all[:60]}, "36.01.01"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.Write(context.Background(), withCells(store.Write{Probe: "a", Results: all[30:], Received: t0}, "36.01.01")); err != nil {
				t.Errorf("Write: %v", err)
			}
		}()
	}
	wg.Wait()
	var count, ok uint64
	for _, r := range readRollups(t, st, rollup.Minute, t0, t0.Add(time.Hour)) {
		count += r.agg.Count
		ok += r.agg.OK
		if r.cell.Region != "36.01.01" || r.cell.Probe != "a" {
			t.Errorf("row cell %+v", r.cell)
		}
	}
	// results() makes every third seq fail: 30 of 90.
	if count != 90 || ok != 60 {
		t.Errorf("minute rollups count %d results (%d ok), want 90 (60 ok)", count, ok)
	}
}

// testRollupResolutions: results over two hours land in minute and hour
// rows that agree, and a range read is [from, to).
func testRollupResolutions(t *testing.T, st store.Store) {
	var rs []wire.Result
	for i := range 120 {
		r := results(uint64(i + 1))[0]
		r.Time = t0.Add(time.Duration(i) * time.Minute) // 08:00 .. 09:59
		r.DurationMS = float64(10 + i%7)
		rs = append(rs, r)
	}
	write(t, st, withCells(store.Write{Probe: "a", Results: rs}, "36.01.01"))
	hours := readRollups(t, st, rollup.Hour, t0, t0.Add(2*time.Hour))
	if len(hours) != 2 || hours[0].agg.Count != 60 || hours[1].agg.Count != 60 || !hours[0].bucket.Equal(t0) {
		t.Fatalf("hour rows: %d, want 2 of 60 from %s", len(hours), t0)
	}
	minutes := readRollups(t, st, rollup.Minute, t0.Add(30*time.Minute), t0.Add(40*time.Minute))
	if len(minutes) != 10 || !minutes[0].bucket.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("minute rows in [08:30, 08:40): %d, want 10 from 08:30", len(minutes))
	}
	merged := rollup.NewAgg()
	for _, r := range readRollups(t, st, rollup.Minute, t0, t0.Add(time.Hour)) {
		merged.Merge(r.agg)
	}
	h := hours[0].agg
	if merged.Count != h.Count || merged.OK != h.OK || merged.Quantile(0.95) != h.Quantile(0.95) {
		t.Errorf("the hour row (%d, %d ok, p95 %g) differs from its minutes merged (%d, %d ok, p95 %g)",
			h.Count, h.OK, h.Quantile(0.95), merged.Count, merged.OK, merged.Quantile(0.95))
	}
}

// testFirstSeqGap: a FirstSeq far above the acknowledgement (2^63 from an
// empty batch) is refused whole and changes nothing, so that the probe's
// real results are still stored afterwards, not answered as duplicates.
func testFirstSeqGap(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Results: results(1, 2, 3)})
	for _, w := range []store.Write{
		{Probe: "a", FirstSeq: 1 << 63},
		{Probe: "a", FirstSeq: 1<<64 - 1},
		{Probe: "a", FirstSeq: 3 + 1 + store.DefaultMaxGap + 1},
		{Probe: "a", FirstSeq: 15, MaxGap: 10, Results: results(15)}, // 4..14: 11 seqs
	} {
		w.Received = t0.Add(time.Hour)
		_, err := st.Write(context.Background(), w)
		var ge *store.GapError
		if !errors.As(err, &ge) || ge.FirstSeq != w.FirstSeq || ge.AckedSeq != 3 {
			t.Errorf("Write with first_seq %d after acked 3: %v, want a *store.GapError naming both", w.FirstSeq, err)
		}
	}
	if ps := probeState(t, st, "a"); ps.AckedSeq != 3 || ps.Lost != 0 || ps.LastSeq != 3 || ps.ResultsStored != 3 {
		t.Errorf("refused writes changed the probe: %+v", ps)
	}
	if n := len(scan(t, st, t0, t0.Add(time.Hour))); n != 3 {
		t.Errorf("scan found %d results after refused writes, want 3", n)
	}
	if res := write(t, st, store.Write{Probe: "a", Results: results(4)}); res.Stored != 1 || res.AckedSeq != 4 {
		t.Errorf("the next real result: %+v, want stored and acked 4", res)
	}
	// Exactly MaxGap seqs (5..14) may be settled at once.
	if res := write(t, st, store.Write{Probe: "a", FirstSeq: 15, MaxGap: 10, Results: results(15)}); res.Stored != 1 || res.AckedSeq != 15 {
		t.Errorf("first_seq 15 with max gap 10 after acked 4: %+v, want stored and acked 15", res)
	}
	if ps := probeState(t, st, "a"); ps.Lost != 10 {
		t.Errorf("lost %d, want 10 (5..14)", ps.Lost)
	}
}

// testSeqAboveMax: a seq past wire.MaxSeq is refused and changes nothing:
// the acknowledgement cannot wrap, and nothing is stored twice.
func testSeqAboveMax(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Results: results(1, 2, 3)})
	huge := func(seq uint64) []wire.Result {
		r := results(4)
		r[0].Seq = seq
		return r
	}
	for _, w := range []store.Write{
		{Probe: "a", Results: huge(1 << 63)},
		{Probe: "a", Results: huge(1<<64 - 1)},
		{Probe: "a", Results: results(4), Rejected: []uint64{1<<64 - 1}},
		{Probe: "a", Results: huge(0)},
	} {
		w.Received = t0.Add(time.Hour)
		_, err := st.Write(context.Background(), w)
		var se *store.SeqError
		if !errors.As(err, &se) {
			t.Errorf("Write of seq %d: %v, want a *store.SeqError", w.Results[0].Seq, err)
		}
	}
	res := write(t, st, store.Write{Probe: "a", FirstSeq: 2, Results: results(2, 3)})
	if res.Stored != 0 || res.Duplicates != 2 || res.AckedSeq != 3 {
		t.Errorf("seqs 2, 3 again with first_seq 2: %+v, want 2 duplicates, acked 3", res)
	}
	if n := len(scan(t, st, t0, t0.Add(time.Hour))); n != 3 {
		t.Errorf("scan found %d results, want 3", n)
	}
	if ps := probeState(t, st, "a"); ps.AckedSeq != 3 || ps.LastSeq != 3 || ps.Lost != 0 {
		t.Errorf("probe state %+v, want acked and last 3, none lost", ps)
	}
}

// testNamesRoundTrip: every name and text the ingest accepts comes back
// as it was sent, from both stores: separators, quotes, backslashes (not
// last in a name) and, in the free-text error, control characters.
func testNamesRoundTrip(t *testing.T, st store.Store) {
	names := []string{`a b,c=d`, `"quoted"`, `x\ y`, `x\,y=z`, `back\slash`, `,lead`, `=`, `kecamatan Ciruas – ĉ 日本`}
	texts := []string{"line\nbreak", "cr\rlf\r\n", "tab\there", `ends with \`, `"quote"`, "nul\x00byte", `\"`, `a="b",c=d`, "\"=,\\\"\n"}
	var rs []wire.Result
	for i, n := range names {
		r := results(uint64(i + 1))[0]
		r.Check, r.Service, r.Target = n, n, "http://127.0.0.1/"+n
		r.Error, r.ErrorClass = texts[i%len(texts)], wire.ErrorClass(n)
		rs = append(rs, r)
	}
	write(t, st, store.Write{Probe: "a", Results: rs})
	got := scan(t, st, t0, t0.Add(time.Hour))
	if len(got) != len(rs) {
		t.Fatalf("scan found %d results, want %d", len(got), len(rs))
	}
	for i, g := range got {
		w := rs[i]
		if g.Check != w.Check || g.Service != w.Service || g.Target != w.Target || g.Error != w.Error || g.ErrorClass != w.ErrorClass {
			t.Errorf("seq %d came back as check %q service %q target %q error %q class %q; sent %q %q %q %q %q",
				w.Seq, g.Check, g.Service, g.Target, g.Error, g.ErrorClass, w.Check, w.Service, w.Target, w.Error, w.ErrorClass)
		}
	}
}
