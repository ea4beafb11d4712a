package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/store"
)

// testSeqConflict: a result sent again is a duplicate; another result at
// a settled seq (another time, or another target) is a second sender's,
// refused whole with a *store.ConflictError that names the seqs: nothing
// of that Write is stored or settled, and what the store held is intact.
func testSeqConflict(t *testing.T, st store.Store) {
	write(t, st, store.Write{Probe: "a", Epoch: "e1", Results: results(1, 2, 3, 4, 5)})
	write(t, st, store.Write{Probe: "a", Epoch: "e1", Results: results(7), Rejected: []uint64{6}})
	if n := len(scan(t, st, t0, t0.Add(time.Hour))); n != 6 {
		t.Fatalf("%d results stored, want 6", n)
	}
	before := probeState(t, st, "a")
	if res := write(t, st, store.Write{Probe: "a", Epoch: "e1", Results: results(2, 3, 7)}); res.Duplicates != 3 || res.Stored != 0 {
		t.Errorf("the same results again: %+v, want 3 duplicates", res)
	}

	clone := later(3, 4, 5, 8, 9) // a second sender's 3-5 at its own times, and new seqs
	otherTarget := results(2)
	otherTarget[0].Target = "http://127.0.0.1:9001/"
	for _, tc := range []struct {
		name        string
		w           store.Write
		first, last uint64
		count       int
	}{
		{"other times", store.Write{Probe: "a", Epoch: "e1", Results: clone}, 3, 5, 3},
		{"other target", store.Write{Probe: "a", Epoch: "e1", Results: otherTarget}, 2, 2, 1},
	} {
		tc.w.Received = t0.Add(time.Hour)
		_, err := st.Write(context.Background(), tc.w)
		var ce *store.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: Write error %v, want a *store.ConflictError", tc.name, err)
		}
		if ce.Probe != "a" || ce.Epoch != "e1" || ce.First != tc.first || ce.Last != tc.last || ce.Count != tc.count {
			t.Errorf("%s: %+v, want probe a, epoch e1, seqs %d-%d, %d results", tc.name, ce, tc.first, tc.last, tc.count)
		}
	}
	if after := probeState(t, st, "a"); after != before {
		t.Errorf("refused writes changed the probe's state: %+v, was %+v", after, before)
	}
	got := scan(t, st, t0, t0.Add(3*time.Hour))
	if len(got) != 6 {
		t.Errorf("%d results after the refused writes, want the 6 stored before", len(got))
	}
	for _, r := range got {
		if !r.Time.Equal(t0.Add(time.Duration(r.Seq)*time.Second)) || r.Target != "http://127.0.0.1:9000/" {
			t.Errorf("seq %d is now %s %s, want the first sender's", r.Seq, r.Time, r.Target)
		}
	}
}
