package collector

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// checkEpoch bounds a batch's spool_epoch: it is kept in the store's
// probe state and shown on /api/v1/probes.
func checkEpoch(e string) error {
	if len(e) > wire.MaxEpochLen {
		return fmt.Errorf("%s is %d bytes, more than %d", clip(e), len(e), wire.MaxEpochLen)
	}
	for i := 0; i < len(e); i++ {
		c := e[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return fmt.Errorf("%s has a byte outside [0-9A-Za-z_-] at %d", clip(e), i)
		}
	}
	return nil
}

// epochRefused answers a Write the store refused because its spool epoch
// is one the probe already left: 409, logged and counted, because it
// means two senders behind one probe id (a cloned probe: a copied
// config on a second server), or an old spool brought back. The probe
// keeps the batch and retries at its back-off cap; the operator must
// give the second probe its own id and token.
func (s *Server) epochRefused(w http.ResponseWriter, err error) (int, bool) {
	var ee *store.EpochError
	if !errors.As(err, &ee) {
		return 0, false
	}
	s.metrics.senderConflicts.WithLabelValues(ee.Probe, conflictEpoch).Inc()
	s.log.Error("two senders behind one probe id: a batch came from a spool epoch this probe already left; "+
		"give each probe server its own id and token (a copied /etc/jangkau?)",
		"probe", ee.Probe, "epoch", ee.Epoch, "current_epoch", ee.Current)
	return httpapi.Error(w, http.StatusConflict, err.Error()+"; give each probe its own id and token"), true
}

// conflictLogEvery is how often a probe's seq conflicts are logged: its
// sender retries the refused batch at its back-off cap, and a clone keeps
// making new ones.
const conflictLogEvery = time.Minute

// seqConflict answers a Write the store refused because results at seqs
// it already settled are not the ones it holds: two senders behind one
// probe id with one spool epoch (a probe server copied with its spool).
// 409, counted, logged as an ERROR at most once a minute per probe
// (saying how many were not logged). The batch is refused whole, as for a
// former epoch: the second sender keeps its results in its spool, and
// once it has its own id and token they arrive under it.
func (s *Server) seqConflict(w http.ResponseWriter, p *placedProbe, err error) (int, bool) {
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		return 0, false
	}
	s.metrics.senderConflicts.WithLabelValues(ce.Probe, conflictSeq).Inc()
	if n, ok := p.boots.logConflict(time.Now()); ok {
		s.log.Error("two senders behind one probe id: a batch holds results at seqs that already hold other results of this probe "+
			"(same spool epoch: a probe server copied with its spool?); the batch is refused (409) and stays in that sender's spool; "+
			"give each probe server its own id and token",
			"probe", ce.Probe, "first_seq", ce.First, "last_seq", ce.Last, "results", ce.Count, "epoch", ce.Epoch,
			"not_logged_since_last", n)
	}
	return httpapi.Error(w, http.StatusConflict, err.Error()+"; give each probe its own id and token"), true
}

// logConflict says whether a conflict may be logged now, and how many
// were not logged since the last one that was.
func (s *senders) logConflict(now time.Time) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastConflictLog.IsZero() && now.Sub(s.lastConflictLog) < conflictLogEvery {
		s.conflictsUnlogged++
		return 0, false
	}
	n := s.conflictsUnlogged
	s.lastConflictLog, s.conflictsUnlogged = now, 0
	return n, true
}

// noteEpoch logs a new seq space and a probe's report of results it
// dropped before they got a seq, both counted as lost in the store.
func (s *Server) noteEpoch(probeID string, b *decodedBatch, wr store.WriteResult) {
	if wr.NewEpoch {
		s.metrics.epochs.WithLabelValues(probeID).Inc()
		s.log.Warn("probe started a new spool (its spool was lost, deleted or replaced): a new seq space; "+
			"what the old one left unacknowledged is counted as lost",
			"probe", probeID, "epoch", b.Epoch, "old_epoch_lost", wr.EpochLost)
	}
	if wr.Unspooled > 0 {
		s.log.Warn("probe reports results it dropped before spooling them (queue full or disk full); counted as lost",
			"probe", probeID, "results", wr.Unspooled, "total", b.Dropped.Results,
			"first", b.Dropped.First, "last", b.Dropped.Last)
	}
}

// Reasons of jangkau_ingest_sender_conflicts_total.
const (
	conflictEpoch = "former_epoch"
	conflictBoot  = "former_boot"
	conflictSeq   = "seq_content"
)

// maxBoots is how many of a probe's latest boot ids the collector keeps.
const maxBoots = 8

// senders remembers a probe's latest boot ids, newest last. It lives in
// memory: a restart of the collector forgets them, and the next
// alternation is caught again.
type senders struct {
	mu    sync.Mutex
	boots []string
	// seq conflicts' log lines, seqConflict
	lastConflictLog   time.Time
	conflictsUnlogged int
}

// note records boot and reports whether it came back after another one:
// a boot id leaves for good when its process stops, so its return means a
// second process sends for the same probe id.
func (s *senders) note(boot string) (former bool, current string) {
	if boot == "" {
		return false, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.boots)
	if n > 0 && s.boots[n-1] == boot {
		return false, boot
	}
	if n > 0 {
		current = s.boots[n-1]
	}
	if i := slices.Index(s.boots, boot); i >= 0 {
		s.boots = slices.Delete(s.boots, i, i+1)
		former = true
	}
	s.boots = append(s.boots, boot)
	if len(s.boots) > maxBoots {
		s.boots = s.boots[1:]
	}
	return former, current
}

// noteSender logs and counts a batch whose boot id came back after
// another one: two probe processes behind one id, whose seqs collide
// (with a copied spool, also their epochs), so that the collector takes
// one's results for duplicates of the other's. The batch is still
// taken: which sender is the right one is for the operator to say.
func (s *Server) noteSender(p *placedProbe, boot string) {
	if former, current := p.boots.note(boot); former {
		s.metrics.senderConflicts.WithLabelValues(p.ID, conflictBoot).Inc()
		s.log.Error("two senders behind one probe id: batches alternate between two probe processes, whose results "+
			"collide and are lost as duplicates; give each probe server its own id and token (a copied /etc/jangkau?)",
			"probe", p.ID, "boot_id", boot, "other_boot_id", current)
	}
}
