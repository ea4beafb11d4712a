package collector

import (
	"errors"
	"fmt"
	"net/http"

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
	s.metrics.epochConflicts.WithLabelValues(ee.Probe).Inc()
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
