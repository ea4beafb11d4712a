package collector

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

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
)

// maxBoots is how many of a probe's latest boot ids the collector keeps.
const maxBoots = 8

// senders remembers a probe's latest boot ids, newest last. It lives in
// memory: a restart of the collector forgets them, and the next
// alternation is caught again.
type senders struct {
	mu    sync.Mutex
	boots []string
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
