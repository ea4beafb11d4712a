package collector

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jangkau/jangkau/collector/apikey"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/ratelimit"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// errTooLarge is a body over one of the limits.
type errTooLarge struct{ what string }

func (e errTooLarge) Error() string { return e.what }

// errOverBudget is a request that would take the decoded bytes in flight
// past limits.max_decoded_in_flight_bytes: answered 503, retried later.
type errOverBudget struct{ max int64 }

func (e errOverBudget) Error() string {
	return fmt.Sprintf("the collector is reading as many batches as limits.max_decoded_in_flight_bytes (%d) allows; retry", e.max)
}

// errRead is a failure of the body itself (compressed or decoded size,
// gzip, the connection, the budget): never a rejection of one result.
type errRead struct{ err error }

func (e errRead) Error() string { return e.err.Error() }
func (e errRead) Unwrap() error { return e.err }

func isReadError(err error) bool {
	var re errRead
	return errors.As(err, &re)
}

// gzipPool keeps the gzip readers' state (about 40 KB each) across requests.
var gzipPool sync.Pool

// bodyReader is an ingest body as it is decoded: within
// limits.max_decoded_bytes, and taking what it reads from the server's
// decoded budget until release gives it back. Nothing is buffered here:
// decodeBatch reads it as a stream through its guard.
type bodyReader struct {
	src      io.Reader
	n, max   int64
	budget   *decodedBudget
	inFlight int64 // limits.max_decoded_in_flight_bytes
	held     int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.src.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return 0, errRead{errTooLarge{fmt.Sprintf("decompressed body exceeds limits.max_decoded_bytes (%d)", b.max)}}
	}
	if n > 0 {
		if !b.budget.take(int64(n), b.inFlight) {
			return 0, errRead{errOverBudget{b.inFlight}}
		}
		b.held += int64(n)
	}
	if err != nil && err != io.EOF {
		return n, errRead{err}
	}
	return n, err
}

// drain reads what is left of a body the decoder gave up on, into
// nothing and outside the budget, to tell whether it was also over a size
// limit: that answer (413) tells a probe to send smaller batches, where a
// syntax error at the first bad byte would not.
func (b *bodyReader) drain() error {
	n, err := io.Copy(io.Discard, io.LimitReader(b.src, b.max-b.n+1))
	if b.n += n; b.n > b.max {
		return errTooLarge{fmt.Sprintf("decompressed body exceeds limits.max_decoded_bytes (%d)", b.max)}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return nil
}

func (b *bodyReader) close() {
	b.budget.give(b.held)
	if zr, ok := b.src.(*gzip.Reader); ok {
		gzipPool.Put(zr)
	}
}

// openBody opens the (possibly gzip) body within the configured limits.
// The compressed limit is enforced while reading and the decompressed one
// while inflating, so a gzip bomb costs at most what the decoder holds.
// Its close returns the gzip reader and gives the decoded bytes back.
func (s *Server) openBody(w http.ResponseWriter, r *http.Request) (*bodyReader, error) {
	lim := s.cfg.Limits
	body := http.MaxBytesReader(w, r.Body, lim.MaxBodyBytes)
	var src io.Reader = body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := getGzip(body)
		if err != nil {
			return nil, errRead{fmt.Errorf("gzip body: %w", err)}
		}
		src = zr
	case "", "identity":
	default:
		return nil, fmt.Errorf("Content-Encoding %q: only gzip or none", clipText(enc))
	}
	return &bodyReader{src: src, max: lim.MaxDecodedBytes, budget: &s.ingestBudget, inFlight: lim.MaxDecodedInFlightBytes}, nil
}

func getGzip(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipPool.Get().(*gzip.Reader); ok {
		if err := zr.Reset(r); err != nil {
			gzipPool.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
}

// answerBodyError answers a body that could not be read or decoded.
func (s *Server) answerBodyError(w http.ResponseWriter, err error) int {
	var tl errTooLarge
	var ob errOverBudget
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ob):
		w.Header().Set("Retry-After", "2")
		return httpapi.Error(w, http.StatusServiceUnavailable, err.Error())
	case errors.As(err, &mbe):
		return httpapi.Error(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body exceeds limits.max_body_bytes (%d)", s.cfg.Limits.MaxBodyBytes))
	case errors.As(err, &tl):
		return httpapi.Error(w, http.StatusRequestEntityTooLarge, err.Error())
	}
	return httpapi.Error(w, http.StatusBadRequest, clipText(err.Error()))
}

func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := s.ingest(w, r)
	s.metrics.ingestRequests.WithLabelValues(strconv.Itoa(code)).Inc()
	s.metrics.ingestDuration.Observe(time.Since(start).Seconds())
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) int {
	received := s.Now()
	probeID, ok := s.probes.tokens.Match(apikey.FromRequest(r))
	if !ok {
		s.refused.note(s.log, r)
		w.Header().Set("WWW-Authenticate", `Bearer realm="jangkau ingest"`)
		return httpapi.Error(w, http.StatusUnauthorized, "unknown probe token")
	}
	// Throttle before reading the body: a refused request costs nothing.
	if ok, wait := s.limits.Allow(probeID, time.Now()); !ok {
		s.metrics.ingestThrottled.WithLabelValues(probeID).Inc()
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
		return httpapi.Error(w, http.StatusTooManyRequests, fmt.Sprintf(
			"probe %s is over limits.probe_requests_per_second (%g, burst %d); retry after %s",
			probeID, s.cfg.Limits.ProbeRequestsPerSecond, s.cfg.Limits.ProbeBurst, wait.Round(time.Millisecond)))
	}
	body, err := s.openBody(w, r)
	if err != nil {
		return s.answerBodyError(w, err)
	}
	defer body.close()
	oldest, newest := s.cfg.Clock.bounds(received)
	batch, err := decodeBatch(body, batchRules{oldest: oldest, newest: newest, maxResults: s.cfg.Limits.MaxResults})
	if err != nil {
		if !isReadError(err) {
			if derr := body.drain(); derr != nil {
				err = derr
			}
		}
		return s.answerBodyError(w, err)
	}
	if batch.Probe != "" && batch.Probe != probeID {
		return httpapi.Error(w, http.StatusForbidden, fmt.Sprintf("batch is for probe %s but the token is probe %q's", clip(batch.Probe), probeID))
	}
	s.clock.observe(probeID, batch.SentAt, received)
	write := store.Write{Probe: probeID, FirstSeq: batch.FirstSeq, MaxGap: s.cfg.Limits.MaxSeqGap,
		Epoch: batch.Epoch, Unspooled: batch.Dropped.Results, Received: received, Results: batch.Results, Cells: make([]rollup.Cell, len(batch.Results))}
	p := s.probes.byID[probeID]
	p.noteVersion(batch.Version)
	if _, err := s.foldNames(r.Context(), p, batch.Results); err != nil {
		s.storeFailed(w, "ingest", err)
		return http.StatusServiceUnavailable
	}
	s.noteSender(p, batch.BootID)
	services := map[string]bool{}
	for i := range batch.Results {
		write.Cells[i] = s.cellOf(p, &batch.Results[i])
		services[write.Cells[i].Service] = true
	}
	s.noteServices(services)
	for _, rej := range batch.Rejected {
		if rej.Seq > 0 && rej.Seq <= wire.MaxSeq {
			write.Rejected = append(write.Rejected, rej.Seq)
		}
	}
	wr, err := s.store.Write(r.Context(), write)
	var gap *store.GapError
	if errors.As(err, &gap) {
		return httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf(
			"first_seq (%d) is more than limits.max_seq_gap (%d) above acked_seq (%d): a probe's first_seq passes its acknowledgement "+
				"only by the results its spool dropped; nothing of this batch was stored (raise limits.max_seq_gap if the probe did drop that many)",
			gap.FirstSeq, gap.MaxGap, gap.AckedSeq))
	}
	if code, ok := s.epochRefused(w, err); ok {
		return code
	}
	if code, ok := s.seqConflict(w, p, err); ok {
		return code
	}
	if err != nil {
		s.storeFailed(w, "ingest", err)
		return http.StatusServiceUnavailable
	}
	s.noteEpoch(probeID, batch, wr)
	resp := wire.IngestResponse{AckedSeq: wr.AckedSeq, Stored: wr.Stored, Duplicates: wr.Duplicates, Rejected: batch.Rejected}
	s.metrics.ingestResults.WithLabelValues("stored").Add(float64(wr.Stored))
	s.metrics.ingestResults.WithLabelValues("duplicate").Add(float64(wr.Duplicates))
	s.metrics.ingestResults.WithLabelValues("rejected").Add(float64(len(resp.Rejected)))
	if len(resp.Rejected) > 0 {
		first := resp.Rejected[0]
		s.log.Warn("results rejected", "probe", probeID, "rejected", len(resp.Rejected),
			"first_seq", first.Seq, "field", first.Field, "reason", first.Reason)
	}
	httpapi.JSON(w, http.StatusOK, resp)
	return http.StatusOK
}

// storeFailed answers 503 so that probes keep their results and retry.
func (s *Server) storeFailed(w http.ResponseWriter, op string, err error) {
	httpapi.Fail(w, op, err, s.StoreFailed)
}

// noteServices remembers the e-services results came from.
func (s *Server) noteServices(services map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sv := range services {
		if sv != rollup.Uplink {
			s.seenServices[sv] = true
		}
	}
}
