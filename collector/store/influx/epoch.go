package influx

import (
	"strconv"
	"strings"

	"github.com/jangkau/jangkau/collector/store"
)

// Fields of measState for a probe's spool epochs (store.EpochState):
// epoch and old_epochs (comma-separated, oldest first) strings, epochs,
// unspooled and dropped integers. Points written before epochs lack
// them and read as the zero state.

// appendEpochs appends es's fields to a state point's field set.
func appendEpochs(b []byte, es *store.EpochState) []byte {
	b = appendString(b, "epoch", es.Epoch)
	b = appendString(b, "old_epochs", strings.Join(es.Old, ","))
	for _, f := range [...]struct {
		k string
		v uint64
	}{{"epochs", es.Epochs}, {"unspooled", es.Unspooled}, {"dropped", es.Dropped}} {
		b = append(b, ',')
		b = append(b, f.k...)
		b = append(b, '=')
		b = strconv.AppendUint(b, f.v, 10)
		b = append(b, 'i')
	}
	return b
}

func readEpochs(r row) store.EpochState {
	es := store.EpochState{Epoch: r.str("epoch"), Epochs: uint64(r.int("epochs")),
		Unspooled: uint64(r.int("unspooled")), Dropped: uint64(r.int("dropped"))}
	if old := r.str("old_epochs"); old != "" {
		es.Old = strings.Split(old, ",")
	}
	return es
}

// sameEpoch is the state points (newest first) of the newest point's seq
// space: up to the first point of another epoch, which belongs to a seq
// space the probe left. Points without an epoch come before the first
// epoch a probe sent, which kept their seq space. The epoch state is the
// newest point's, counters raised to the furthest a concurrent writer
// of the same epoch reached.
func sameEpoch(rows []stateRow) []stateRow {
	if len(rows) == 0 {
		return rows
	}
	epoch := rows[0].epochs.Epoch
	for i, r := range rows {
		if r.epochs.Epoch != epoch && r.epochs.Epoch != "" {
			return rows[:i]
		}
	}
	return rows
}

// mergeEpochs merges one row's epoch state into st (rows of one epoch).
func (st *probeState) mergeEpochs(r *stateRow) {
	if st.epochs.Epoch == "" {
		st.epochs.Epoch, st.epochs.Old = r.epochs.Epoch, r.epochs.Old
	}
	st.epochs.Epochs = max(st.epochs.Epochs, r.epochs.Epochs)
	st.epochs.Unspooled = max(st.epochs.Unspooled, r.epochs.Unspooled)
	st.epochs.Dropped = max(st.epochs.Dropped, r.epochs.Dropped)
}

// nextEpoch applies w's spool epoch and unspooled report to st (see
// store.NextEpoch); res says what it did. A new epoch settles the old
// seq space: every seq up to the highest seen of it that is neither
// acknowledged nor settled is lost, and the probe starts at acked 0.
func (st *probeState) nextEpoch(w *store.Write, res *store.WriteResult) error {
	next, err := store.NextEpoch(&st.epochs, w)
	if err != nil {
		return err
	}
	if next {
		high := st.lastSeq
		for seq := range st.pending {
			high = max(high, seq)
		}
		if high > st.acked {
			res.EpochLost = high - st.acked - uint64(len(st.pending))
		}
		st.stored = st.resultsStored()
		st.lost += res.EpochLost
		st.acked, st.lastSeq = 0, 0
		st.pending = map[uint64]byte{}
		res.NewEpoch = true
		st.changed = true
	}
	if res.Unspooled = store.CountUnspooled(&st.epochs, w); res.Unspooled > 0 {
		st.lost += res.Unspooled
		st.changed = true
	}
	return nil
}
