package collector

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/probe"
)

// rawBatch is a probe.Batch whose results are decoded one by one, so that a
// malformed result is rejected without dropping its good neighbours.
type rawBatch struct {
	Probe    string            `json:"probe"`
	SentAt   time.Time         `json:"sent_at"`
	FirstSeq uint64            `json:"first_seq"`
	Results  []json.RawMessage `json:"results"`
}

// errTooLarge is a body over one of the limits.
type errTooLarge struct{ what string }

func (e errTooLarge) Error() string { return e.what }

// readBody reads the (possibly gzip) body within the configured limits. The
// compressed limit is enforced while reading and the decompressed one while
// inflating, so a gzip bomb costs at most MaxDecodedBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	lim := s.cfg.Limits
	body := http.MaxBytesReader(w, r.Body, lim.MaxBodyBytes)
	var src io.Reader = body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, tooLargeOr(err, lim, fmt.Errorf("gzip body: %w", err))
		}
		defer zr.Close()
		src = zr
	case "", "identity":
	default:
		return nil, fmt.Errorf("Content-Encoding %q: only gzip or none", enc)
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(src, lim.MaxDecodedBytes+1))
	if err != nil {
		return nil, tooLargeOr(err, lim, fmt.Errorf("read body: %w", err))
	}
	if n > lim.MaxDecodedBytes {
		return nil, errTooLarge{fmt.Sprintf("decompressed body exceeds limits.max_decoded_bytes (%d)", lim.MaxDecodedBytes)}
	}
	return buf.Bytes(), nil
}

func tooLargeOr(err error, lim LimitsConfig, other error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge{fmt.Sprintf("body exceeds limits.max_body_bytes (%d)", lim.MaxBodyBytes)}
	}
	return other
}

func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := s.ingest(w, r)
	s.metrics.ingestRequests.WithLabelValues(strconv.Itoa(code)).Inc()
	s.metrics.ingestDuration.Observe(time.Since(start).Seconds())
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) int {
	probeID, ok := s.probes.tokens.match(credential(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jangkau ingest"`)
		return httpError(w, http.StatusUnauthorized, "unknown probe token")
	}
	data, err := s.readBody(w, r)
	if err != nil {
		var tl errTooLarge
		if errors.As(err, &tl) {
			return httpError(w, http.StatusRequestEntityTooLarge, err.Error())
		}
		return httpError(w, http.StatusBadRequest, err.Error())
	}
	var batch rawBatch
	if err := json.Unmarshal(data, &batch); err != nil {
		return httpError(w, http.StatusBadRequest, "batch: "+err.Error())
	}
	if batch.Probe != "" && batch.Probe != probeID {
		return httpError(w, http.StatusForbidden, fmt.Sprintf("batch is for probe %q but the token is probe %q's", batch.Probe, probeID))
	}
	if n := len(batch.Results); n > s.cfg.Limits.MaxResults {
		return httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("batch has %d results, limits.max_results is %d", n, s.cfg.Limits.MaxResults))
	}
	now := s.now()
	write := store.Write{Probe: probeID, FirstSeq: batch.FirstSeq, Received: now}
	resp := probe.IngestResponse{}
	for i, raw := range batch.Results {
		res, rej := decodeResult(raw, now)
		if rej != nil {
			rej.Index = i
			resp.Rejected = append(resp.Rejected, *rej)
			if rej.Seq > 0 {
				write.Rejected = append(write.Rejected, rej.Seq)
			}
			continue
		}
		write.Results = append(write.Results, res)
	}
	wr, err := s.store.Write(r.Context(), write)
	if err != nil {
		s.storeFailed(w, "ingest", err)
		return http.StatusServiceUnavailable
	}
	resp.AckedSeq, resp.Stored, resp.Duplicates = wr.AckedSeq, wr.Stored, wr.Duplicates
	s.metrics.ingestResults.WithLabelValues("stored").Add(float64(wr.Stored))
	s.metrics.ingestResults.WithLabelValues("duplicate").Add(float64(wr.Duplicates))
	s.metrics.ingestResults.WithLabelValues("rejected").Add(float64(len(resp.Rejected)))
	if len(resp.Rejected) > 0 {
		first := resp.Rejected[0]
		s.log.Warn("results rejected", "probe", probeID, "rejected", len(resp.Rejected),
			"first_seq", first.Seq, "field", first.Field, "reason", first.Reason)
	}
	writeJSON(w, http.StatusOK, resp)
	return http.StatusOK
}

// storeFailed answers 503 so that probes keep their results and retry.
func (s *Server) storeFailed(w http.ResponseWriter, op string, err error) {
	s.metrics.storeErrors.Inc()
	s.log.Error("store failed", "op", op, "err", err)
	w.Header().Set("Retry-After", "5")
	httpError(w, http.StatusServiceUnavailable, op+": store unavailable")
}

func httpError(w http.ResponseWriter, code int, msg string) int {
	writeJSON(w, code, map[string]string{"error": msg})
	return code
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
