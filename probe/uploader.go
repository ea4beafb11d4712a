package probe

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	ingestPath    = "/api/v1/ingest"
	backoffBase   = time.Second
	backoffCap    = time.Minute
	maxRetryAfter = 10 * time.Minute
	maxAnswer     = 1 << 20 // bytes of a collector answer read
)

// Uploader sends the spool's results to the collector in batches and
// removes from the spool what the collector acknowledged.
type Uploader struct {
	spool     *Spool
	client    *http.Client
	url       string
	token     string
	probeID   string
	batchSize int
	interval  time.Duration
	log       *slog.Logger
	metrics   *metrics // nil: not counted
	// jitter picks a delay in [0, d]: full jitter, so that probes cut off
	// together do not come back together. A seam for tests.
	jitter func(d time.Duration) time.Duration
}

// recoverableError is an upload failure worth retrying with back-off: the
// network, a 5xx, a 429. Anything else (400, 401, 403) will not heal by
// itself and is retried only at the back-off cap.
type recoverableError struct {
	err        error
	retryAfter time.Duration // from the answer's Retry-After, if any
}

func (e *recoverableError) Error() string { return e.err.Error() }
func (e *recoverableError) Unwrap() error { return e.err }

// NewUploader returns an uploader for cfg's collector. With cfg.CAFile set
// the collector's certificate must chain to that bundle.
func NewUploader(cfg *Config, s *Spool, log *slog.Logger) (*Uploader, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &Uploader{
		spool:     s,
		client:    &http.Client{Transport: tr, Timeout: cfg.Upload.Timeout},
		url:       strings.TrimSuffix(cfg.Collector, "/") + ingestPath,
		token:     cfg.BearerToken(),
		probeID:   cfg.ID,
		batchSize: cfg.Upload.BatchSize,
		interval:  cfg.Upload.Interval,
		log:       log,
		jitter:    func(d time.Duration) time.Duration { return rand.N(d + 1) },
	}, nil
}

// Run uploads until ctx is cancelled. Without a backlog it sends at most
// one batch per upload interval; with one it sends batch after batch.
// Failures back off exponentially (1 s to 60 s, full jitter), or as long
// as a 429/503 answer's Retry-After says.
func (u *Uploader) Run(ctx context.Context) {
	defer u.client.CloseIdleConnections()
	var last time.Time
	failures, backlog := 0, false
	for ctx.Err() == nil {
		if u.spool.Len() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-u.spool.added:
			}
		}
		if !backlog && !sleep(ctx, time.Until(last.Add(u.interval))) {
			return
		}
		last = time.Now()
		n, err := u.uploadBatch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if !sleep(ctx, u.retryDelay(err, failures)) {
				return
			}
			continue
		}
		failures, backlog = 0, n == u.batchSize
	}
}

// Flush uploads until the spool is empty or ctx ends, backing off between
// failures as Run does. Call it after Run has returned (on shutdown), never
// beside it.
func (u *Uploader) Flush(ctx context.Context) error {
	defer u.client.CloseIdleConnections()
	failures := 0
	for u.spool.Len() > 0 && ctx.Err() == nil {
		n, err := u.uploadBatch(ctx)
		switch {
		case err != nil:
			failures++
			sleep(ctx, u.retryDelay(err, failures))
		case n == 0:
			return nil
		default:
			failures = 0
		}
	}
	if n := u.spool.Len(); n > 0 {
		return fmt.Errorf("flush: %d results stay in the spool: %w", n, context.Cause(ctx))
	}
	return nil
}

// retryDelay is how long to wait after the failures-th failure in a row,
// and says why in the log.
func (u *Uploader) retryDelay(err error, failures int) time.Duration {
	var rec *recoverableError
	if !errors.As(err, &rec) {
		u.log.Error("upload failed and will not heal by retrying; fix it, retrying at the back-off cap",
			"url", u.url, "err", err, "retry_in", backoffCap, "spooled", u.spool.Len())
		return backoffCap
	}
	d := rec.retryAfter
	if d <= 0 {
		d = u.jitter(backoff(failures))
	}
	d = min(d, maxRetryAfter)
	u.log.Warn("upload failed", "url", u.url, "err", err, "failures", failures, "retry_in", d, "spooled", u.spool.Len())
	return d
}

// backoff is the ceiling of the failures-th delay: base·2^(failures-1),
// capped.
func backoff(failures int) time.Duration {
	if failures > 7 {
		return backoffCap
	}
	return min(backoffBase<<max(failures-1, 0), backoffCap)
}

// sleep waits for d or ctx; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// uploadBatch sends the oldest batch once and acknowledges in the spool
// what the collector acknowledged. It returns how many results were sent.
func (u *Uploader) uploadBatch(ctx context.Context) (int, error) {
	rs, err := u.spool.Take(u.batchSize)
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	first, last := rs[0].Seq, rs[len(rs)-1].Seq
	body, err := encodeBatch(Batch{Probe: u.probeID, SentAt: time.Now().UTC(), FirstSeq: first, Results: rs})
	if err != nil {
		return 0, err
	}
	ans, err := u.post(ctx, body)
	u.metrics.upload(err == nil)
	if err != nil {
		return 0, err
	}
	rejected := make([]uint64, 0, len(ans.Rejected))
	for _, rej := range ans.Rejected {
		seq := rej.Seq
		if seq == 0 && rej.Index >= 0 && rej.Index < len(rs) {
			seq = rs[rej.Index].Seq
		}
		rejected = append(rejected, seq)
		u.log.Warn("collector rejected a result", "seq", seq, "field", rej.Field, "reason", rej.Reason)
	}
	// Never forget more than was sent: an acknowledgement past the batch
	// would drop results the collector has not seen.
	acked := min(ans.AckedSeq, last)
	if ans.AckedSeq > last {
		u.log.Warn("collector acknowledged seqs it was not sent", "acked_seq", ans.AckedSeq, "last_sent", last)
	}
	if acked < first && len(rejected) == 0 {
		return 0, &recoverableError{err: fmt.Errorf("collector acknowledged none of seqs %d..%d (acked_seq %d)", first, last, ans.AckedSeq)}
	}
	if err := u.spool.Ack(acked, rejected); err != nil {
		return 0, err
	}
	u.metrics.acked(acked)
	u.log.Debug("uploaded", "results", len(rs), "first_seq", first, "acked_seq", acked,
		"stored", ans.Stored, "duplicates", ans.Duplicates, "rejected", len(rejected))
	return len(rs), nil
}

func encodeBatch(b Batch) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	return buf.Bytes(), nil
}

// post sends one encoded batch and decodes a 200 answer.
func (u *Uploader) post(ctx context.Context, body []byte) (*IngestResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("User-Agent", userAgent)
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, &recoverableError{err: err}
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
	}()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusTooManyRequests || code >= 500:
		return nil, &recoverableError{err: answerError(resp), retryAfter: retryAfter(resp)}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return nil, fmt.Errorf("bad or unknown token for probe %s: %w", u.probeID, answerError(resp))
	default:
		return nil, answerError(resp)
	}
	var ans IngestResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&ans); err != nil {
		return nil, &recoverableError{err: fmt.Errorf("decode collector answer: %w", err)}
	}
	return &ans, nil
}

// answerError quotes the start of an error answer: the collector says why.
func answerError(resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("collector answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// retryAfter reads Retry-After on a 429 or 503, in seconds or as a date.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
