package influx

import (
	"testing"

	"github.com/jangkau/jangkau/collector/store"
)

// TestMergeKeepsNewestEpoch: the newest state points (newest first) of a
// probe that started a new spool include points of the seq space it
// left, and from before its first epoch; only the newest epoch's (and
// none older than a point of another epoch) are merged.
func TestMergeKeepsNewestEpoch(t *testing.T) {
	row := func(epoch string, epochs, acked, lost uint64) stateRow {
		return stateRow{acked: acked, stored: acked, lost: lost, lastSeq: acked, pending: map[uint64]byte{},
			epochs: store.EpochState{Epoch: epoch, Epochs: epochs}}
	}
	rows := []stateRow{row("e2", 1, 3, 7), row("e2", 1, 2, 7), row("e1", 0, 100, 0), row("", 0, 50, 0)}
	st := mergeState(rows)
	if st.acked != 3 || st.lastSeq != 3 || st.lost != 7 || st.epochs.Epoch != "e2" || st.epochs.Epochs != 1 {
		t.Errorf("merged acked %d, last %d, lost %d, epochs %+v; want 3, 3, 7, e2 (1)", st.acked, st.lastSeq, st.lost, st.epochs)
	}
	// Points from before a first epoch belong to its seq space.
	st = mergeState([]stateRow{row("e1", 0, 60, 0), row("", 0, 50, 1)})
	if st.acked != 60 || st.lost != 0 || st.epochs.Epoch != "e1" {
		t.Errorf("merged acked %d, lost %d, epoch %q; want 60, 0, e1", st.acked, st.lost, st.epochs.Epoch)
	}
}
