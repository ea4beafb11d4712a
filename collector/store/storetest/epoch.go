package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// later is results for seqs taken an hour after results' own: a new
// spool's results are new measurements, at new times.
func later(seqs ...uint64) []wire.Result {
	rs := results(seqs...)
	for i := range rs {
		rs[i].Time = rs[i].Time.Add(time.Hour)
	}
	return rs
}

// A probe whose spool was lost starts again at seq 1 under a new epoch:
// its results are stored, not taken for duplicates, and what the old
// epoch left unacknowledged is lost.
func testNewEpoch(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Epoch: "e1", Results: results(1, 2, 3, 5)})
	res := write(t, st, store.Write{Probe: "a", Epoch: "e2", FirstSeq: 1, Results: later(1, 2, 3)})
	if res.Stored != 3 || res.Duplicates != 0 || res.AckedSeq != 3 {
		t.Errorf("first batch of a new epoch: %+v, want 3 stored, none duplicate, acked 3", res)
	}
	if !res.NewEpoch || res.EpochLost != 1 {
		t.Errorf("new epoch %v, old epoch lost %d; want true, 1 (seq 4)", res.NewEpoch, res.EpochLost)
	}
	ps := probeState(t, st, "a")
	if ps.Lost != 1 || ps.ResultsStored != 7 || ps.AckedSeq != 3 || ps.LastSeq != 3 || ps.Epoch != "e2" || ps.Epochs != 1 {
		t.Errorf("probe a: %+v; want lost 1, stored 7, acked 3, last 3, epoch e2, epochs 1", ps)
	}
	if n := len(scan(t, st, t0, t0.Add(3*time.Hour))); n != 7 {
		t.Errorf("scan found %d results, want 7 (4 of e1, 3 of e2)", n)
	}
	// The new epoch's seqs are duplicates within it, as always.
	res = write(t, st, store.Write{Probe: "a", Epoch: "e2", Results: later(2, 3, 4)})
	if res.Stored != 1 || res.Duplicates != 2 || res.AckedSeq != 4 {
		t.Errorf("resend within the new epoch: %+v, want 1 stored, 2 duplicates, acked 4", res)
	}
}

// A new epoch's seqs whose times interleave with the old epoch's same
// seqs are new results, not the old ones.
func testNewEpochSameWindow(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Epoch: "e1", Results: results(1, 2, 3, 4, 5)})
	rs := results(1, 2, 3)
	for i := range rs {
		rs[i].Time = rs[i].Time.Add(1500 * time.Millisecond) // between e1's seqs 2..5
	}
	res := write(t, st, store.Write{Probe: "a", Epoch: "e2", Results: rs})
	if res.Stored != 3 || res.Duplicates != 0 {
		t.Errorf("new epoch in the old one's window: %+v, want 3 stored, none duplicate", res)
	}
	if n := len(scan(t, st, t0, t0.Add(time.Hour))); n != 8 {
		t.Errorf("scan found %d results, want 8", n)
	}
	if ps := probeState(t, st, "a"); ps.ResultsStored != 8 || ps.AckedSeq != 3 {
		t.Errorf("probe a: %+v; want stored 8, acked 3", ps)
	}
}

// A batch of an epoch the probe left is a second sender: refused whole.
func testFormerEpoch(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Epoch: "e1", Results: results(1, 2)})
	write(t, st, store.Write{Probe: "a", Epoch: "e2", Results: later(1)})
	_, err := st.Write(context.Background(), store.Write{Probe: "a", Epoch: "e1", Results: results(3), Received: t0})
	var ee *store.EpochError
	if !errors.As(err, &ee) || ee.Epoch != "e1" || ee.Current != "e2" {
		t.Fatalf("write of former epoch e1: %v, want an *EpochError (e1, current e2)", err)
	}
	ps := probeState(t, st, "a")
	if ps.ResultsStored != 3 || ps.Epoch != "e2" || ps.AckedSeq != 1 {
		t.Errorf("probe a after a refused write: %+v; want stored 3, epoch e2, acked 1", ps)
	}
	if n := len(scan(t, st, t0, t0.Add(3*time.Hour))); n != 3 {
		t.Errorf("scan found %d results, want 3", n)
	}
}

// A probe's first epoch (a probe upgraded to one that sends it) keeps
// the seq space it had.
func testFirstEpoch(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Results: results(1, 2)})
	res := write(t, st, store.Write{Probe: "a", Epoch: "e1", Results: results(2, 3)})
	if res.NewEpoch || res.Stored != 1 || res.Duplicates != 1 || res.AckedSeq != 3 {
		t.Errorf("first epoch: %+v, want the same seq space: 1 stored, 1 duplicate, acked 3", res)
	}
	// A batch without an epoch (an older probe again) keeps it too.
	res = write(t, st, store.Write{Probe: "a", Results: results(3, 4)})
	if res.NewEpoch || res.Stored != 1 || res.AckedSeq != 4 {
		t.Errorf("no epoch after e1: %+v, want 1 stored, acked 4", res)
	}
	if ps := probeState(t, st, "a"); ps.Epoch != "e1" || ps.Lost != 0 || ps.Epochs != 0 {
		t.Errorf("probe a: %+v; want epoch e1, lost 0, epochs 0", ps)
	}
}

// A probe's running total of results it dropped before they got a seq
// counts as lost once however often it is resent, per epoch.
func testUnspooled(t *testing.T, st store.Store) {
	res := write(t, st, store.Write{Probe: "a", Epoch: "e1", Unspooled: 5, Results: results(1)})
	if res.Unspooled != 5 {
		t.Errorf("first report: %d counted, want 5", res.Unspooled)
	}
	write(t, st, store.Write{Probe: "a", Epoch: "e1", Unspooled: 5, Results: results(1, 2)})
	write(t, st, store.Write{Probe: "a", Epoch: "e1", Unspooled: 7, Results: results(3)})
	if ps := probeState(t, st, "a"); ps.Lost != 7 || ps.Dropped != 7 || ps.ResultsStored != 3 {
		t.Errorf("probe a: %+v; want lost 7, dropped 7, stored 3", ps)
	}
	// A new spool counts from 0 again.
	write(t, st, store.Write{Probe: "a", Epoch: "e2", Unspooled: 2, Results: later(1)})
	if ps := probeState(t, st, "a"); ps.Lost != 9 || ps.Dropped != 9 || ps.ResultsStored != 4 {
		t.Errorf("probe a after a new epoch: %+v; want lost 9, dropped 9, stored 4", ps)
	}
}
