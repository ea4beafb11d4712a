package influx

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jangkau/jangkau/collector/store"
)

// Pending marks of seqs above the acknowledgement that are settled.
const (
	markStored   = 's'
	markRejected = 'r'
)

// stateLimit is how many of a probe's newest state points are merged: the
// newest one holds everything its writer knew, and the others cover
// writers (other collectors) that wrote at the same moment.
const stateLimit = 8

// probeState is one probe's state as the points of measState record it.
// acked, stored and lost only grow, so points written concurrently by
// several collectors merge by taking the furthest, and pending by union.
type probeState struct {
	acked    uint64 // every seq <= acked is settled
	stored   uint64 // results stored with seq <= acked
	lost     uint64 // seqs <= acked settled without a result
	lastSeq  uint64
	lastSeen int64 // collector clock, unix ns; 0: never
	pending  map[uint64]byte
	newest   int64 // timestamp of the newest state point read, unix ns
	epochs   store.EpochState
	changed  bool
}

// resultsStored is the exact count of the probe's stored results.
func (st *probeState) resultsStored() uint64 {
	n := st.stored
	for _, m := range st.pending {
		if m == markStored {
			n++
		}
	}
	return n
}

// mergeRow merges one state point into st.
func (st *probeState) mergeRow(r stateRow) {
	st.mergeEpochs(&r)
	switch {
	case r.acked > st.acked:
		st.acked, st.stored, st.lost = r.acked, r.stored, r.lost
	case r.acked == st.acked:
		st.stored, st.lost = max(st.stored, r.stored), max(st.lost, r.lost)
	}
	st.lastSeq = max(st.lastSeq, r.lastSeq)
	st.lastSeen = max(st.lastSeen, r.lastSeen)
	st.newest = max(st.newest, r.time)
	for seq, m := range r.pending {
		if st.pending[seq] != markStored {
			st.pending[seq] = m
		}
	}
}

// settle drops pending seqs at or below acked (counted by the row that
// acknowledged them) and advances over contiguous pending seqs.
func (st *probeState) settle() {
	for seq := range st.pending {
		if seq <= st.acked {
			delete(st.pending, seq)
		}
	}
	st.advance()
}

func (st *probeState) advance() {
	for {
		m, ok := st.pending[st.acked+1]
		if !ok {
			return
		}
		if m == markStored {
			st.stored++
		}
		delete(st.pending, st.acked+1)
		st.acked++
		st.changed = true
	}
}

// settleBelow settles every seq below first: the probe holds none of them
// any more, so those never stored nor rejected are lost.
func (st *probeState) settleBelow(first uint64) {
	if first <= st.acked+1 {
		return
	}
	span := first - 1 - st.acked
	for seq, m := range st.pending {
		if seq < first {
			span--
			if m == markStored {
				st.stored++
			}
			delete(st.pending, seq)
		}
	}
	st.lost += span
	st.acked = first - 1
	st.changed = true
}

func (st *probeState) public(id string) store.ProbeState {
	ps := store.ProbeState{ID: id, LastSeq: st.lastSeq, AckedSeq: st.acked,
		ResultsStored: st.resultsStored(), Lost: st.lost,
		Dropped: st.epochs.Dropped, Epoch: st.epochs.Epoch, Epochs: st.epochs.Epochs}
	if st.lastSeen != 0 {
		ps.LastSeen = time.Unix(0, st.lastSeen).UTC()
	}
	return ps
}

// appendState appends st as a point of measState at time ts (unix ns).
func appendState(b []byte, probeID string, st *probeState, ts int64) []byte {
	b = append(b, measState...)
	b = appendTag(b, "probe", probeID)
	for i, f := range [...]struct {
		k string
		v uint64
	}{{"acked_seq", st.acked}, {"stored", st.stored}, {"lost", st.lost}, {"last_seq", st.lastSeq}} {
		if i == 0 {
			b = append(b, ' ')
		} else {
			b = append(b, ',')
		}
		b = append(b, f.k...)
		b = append(b, '=')
		b = strconv.AppendUint(b, f.v, 10)
		b = append(b, 'i')
	}
	b = append(b, ",last_seen="...)
	b = strconv.AppendInt(b, st.lastSeen, 10)
	b = append(b, 'i')
	b = appendString(b, "pending", encodePending(st.pending))
	b = appendEpochs(b, &st.epochs)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '\n')
}

// encodePending writes the pending seqs as ranges by mark: "s5-9,r12,s14".
func encodePending(p map[uint64]byte) string {
	if len(p) == 0 {
		return ""
	}
	seqs := make([]uint64, 0, len(p))
	for s := range p {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	var b strings.Builder
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 && p[seqs[j+1]] == p[seqs[i]] {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteByte(p[seqs[i]])
		b.WriteString(strconv.FormatUint(seqs[i], 10))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.FormatUint(seqs[j], 10))
		}
		i = j + 1
	}
	return b.String()
}

func decodePending(s string, into map[uint64]byte) error {
	if s == "" {
		return nil
	}
	for item := range strings.SplitSeq(s, ",") {
		if len(item) < 2 || (item[0] != markStored && item[0] != markRejected) {
			return fmt.Errorf("bad pending item %q", item)
		}
		lo, hi, isRange := strings.Cut(item[1:], "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return fmt.Errorf("bad pending item %q", item)
		}
		z := a
		if isRange {
			if z, err = strconv.ParseUint(hi, 10, 64); err != nil || z < a || z-a > 1<<24 {
				return fmt.Errorf("bad pending item %q", item)
			}
		}
		for seq := a; seq <= z; seq++ {
			into[seq] = item[0]
		}
	}
	return nil
}

// stateRow is one point of measState.
type stateRow struct {
	time                         int64
	acked, stored, lost, lastSeq uint64
	lastSeen                     int64
	pending                      map[uint64]byte
	epochs                       store.EpochState
}
