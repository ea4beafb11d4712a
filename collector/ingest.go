package collector

import (
	"bytes"
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

// bodyPool and gzipPool keep the buffers of decoded bodies and the gzip
// readers' state (about 40 KB each) across requests: the decoded results
// copy what they keep, so a buffer is free again once decodeBatch returns.
var (
	bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool sync.Pool
)

// putBody returns a buffer unless it grew past the usual batch size.
func putBody(b *bytes.Buffer) {
	if b.Cap() <= 4<<20 {
		b.Reset()
		bodyPool.Put(b)
	}
}

// readBody reads the (possibly gzip) body into buf within the configured
// limits. The compressed limit is enforced while reading and the
// decompressed one while inflating, so a gzip bomb costs at most
// MaxDecodedBytes and stops there.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) ([]byte, error) {
	lim := s.cfg.Limits
	body := http.MaxBytesReader(w, r.Body, lim.MaxBodyBytes)
	var src io.Reader = body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := getGzip(body)
		if err != nil {
			return nil, tooLargeOr(err, lim, fmt.Errorf("gzip body: %w", err))
		}
		defer gzipPool.Put(zr)
		src = zr
	case "", "identity":
	default:
		return nil, fmt.Errorf("Content-Encoding %q: only gzip or none", enc)
	}
	n, err := buf.ReadFrom(io.LimitReader(src, lim.MaxDecodedBytes+1))
	if err != nil {
		return nil, tooLargeOr(err, lim, fmt.Errorf("read body: %w", err))
	}
	if n > lim.MaxDecodedBytes {
		return nil, errTooLarge{fmt.Sprintf("decompressed body exceeds limits.max_decoded_bytes (%d)", lim.MaxDecodedBytes)}
	}
	return buf.Bytes(), nil
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
	received := s.Now()
	probeID, ok := s.probes.tokens.Match(apikey.FromRequest(r))
	if !ok {
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
	buf := bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf)
	data, err := s.readBody(w, r, buf)
	if err != nil {
		var tl errTooLarge
		if errors.As(err, &tl) {
			return httpapi.Error(w, http.StatusRequestEntityTooLarge, err.Error())
		}
		return httpapi.Error(w, http.StatusBadRequest, err.Error())
	}
	oldest, newest := s.cfg.Clock.bounds(received)
	batch, err := decodeBatch(data, batchRules{oldest: oldest, newest: newest, maxResults: s.cfg.Limits.MaxResults})
	if err != nil {
		var tl errTooLarge
		if errors.As(err, &tl) {
			return httpapi.Error(w, http.StatusRequestEntityTooLarge, err.Error())
		}
		return httpapi.Error(w, http.StatusBadRequest, err.Error())
	}
	if batch.Probe != "" && batch.Probe != probeID {
		return httpapi.Error(w, http.StatusForbidden, fmt.Sprintf("batch is for probe %q but the token is probe %q's", batch.Probe, probeID))
	}
	s.clock.observe(probeID, batch.SentAt, received)
	write := store.Write{Probe: probeID, FirstSeq: batch.FirstSeq, Received: received, Results: batch.Results,
		Cells: make([]rollup.Cell, len(batch.Results))}
	p := s.probes.byID[probeID]
	p.noteVersion(batch.Version)
	services := map[string]bool{}
	for i := range batch.Results {
		write.Cells[i] = s.cellOf(p, &batch.Results[i])
		services[write.Cells[i].Service] = true
	}
	s.noteServices(services)
	for _, rej := range batch.Rejected {
		if rej.Seq > 0 {
			write.Rejected = append(write.Rejected, rej.Seq)
		}
	}
	wr, err := s.store.Write(r.Context(), write)
	if err != nil {
		s.storeFailed(w, "ingest", err)
		return http.StatusServiceUnavailable
	}
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
