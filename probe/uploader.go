package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/common/version"
)

const (
	ingestPath    = wire.IngestPath
	backoffBase   = time.Second
	backoffCap    = time.Minute
	maxRetryAfter = 10 * time.Minute
	maxAnswer     = 1 << 20 // bytes of a collector answer read
	// maxBatchBytes bounds a batch's JSON before gzip, so the gzip body is
	// at most about as big: a quarter of the collector's default
	// limits.max_body_bytes (4 MiB) and far under max_decoded_bytes (32
	// MiB). A typical result is ~250 B of JSON, so upload.batch_size
	// (1000) binds first; this bound holds batches of long error messages.
	maxBatchBytes = 1 << 20
	// batchEnvelope is room for a batch's fields around its results.
	batchEnvelope = 512
)

// Uploader sends the spool's results to the collector in batches and
// removes from the spool what the collector acknowledged.
type Uploader struct {
	spool     *spool.Spool
	client    *http.Client
	url       string
	token     string
	probeID   string
	version   string // sent with every batch as probe_version
	boot      string // sent with every batch as boot_id, bootid.go
	batchSize int    // results per batch, halved by each 413 answer
	maxBytes  int    // JSON bytes of results per batch, halved by each 413
	interval  time.Duration
	log       *slog.Logger
	metrics   *metrics // nil: not counted
	progress  progress
	// jitter picks a delay in [0, d]: full jitter, so that probes cut off
	// together do not come back together. A seam for tests.
	jitter func(d time.Duration) time.Duration
	// failures keeps a run of failed uploads to a few log lines.
	failures failureLog
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
func NewUploader(cfg *Config, s *spool.Spool, log *slog.Logger) (*Uploader, error) {
	client, err := collectorClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Uploader{
		spool:     s,
		client:    client,
		url:       strings.TrimSuffix(cfg.Collector, "/") + ingestPath,
		token:     cfg.BearerToken(),
		probeID:   cfg.ID,
		version:   version.Version,
		boot:      newBootID(),
		batchSize: cfg.Upload.BatchSize,
		maxBytes:  maxBatchBytes - batchEnvelope,
		interval:  cfg.Upload.Interval,
		log:       log,
		jitter:    func(d time.Duration) time.Duration { return rand.N(d + 1) },
		progress:  progress{every: progressEvery},
	}, nil
}

// Run uploads until ctx is cancelled. Without a backlog it sends at most
// one batch per upload interval; with one it sends batch after batch.
// Failures back off exponentially (1 s to 60 s, full jitter), or as long
// as a 429/503 answer's Retry-After says.
func (u *Uploader) Run(ctx context.Context) {
	defer u.client.CloseIdleConnections()
	u.progress.windowStart = time.Now()
	var last time.Time
	failures, backlog := 0, false
	for ctx.Err() == nil {
		if u.spool.Len() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-u.spool.Added():
			}
		}
		if !backlog && !sleep(ctx, time.Until(last.Add(u.interval))) {
			return
		}
		last = time.Now()
		b, err := u.uploadBatch(ctx)
		u.progress.observe(u, last, b, err)
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
		u.failures.recovered(u.log, failures, u.spool.Len())
		failures, backlog = 0, b.more
	}
}

// Flush first commits the results still queued for the spool (Spool.Sync),
// then uploads until the spool is empty or ctx ends, backing off between
// failures as Run does. Call it after Run and the scheduler have returned
// (on shutdown), never beside Run.
func (u *Uploader) Flush(ctx context.Context) error {
	defer u.client.CloseIdleConnections()
	u.spool.Sync()
	failures := 0
	for u.spool.Len() > 0 && ctx.Err() == nil {
		b, err := u.uploadBatch(ctx)
		switch {
		case err != nil:
			if _, ok := errors.AsType[*recoverableError](err); !ok {
				// Waiting out the back-off cap would only end the flush
				// by its deadline.
				u.log.Error("upload failed and will not heal by retrying; fix it, results stay in the spool",
					"url", u.url, "err", err, "spooled", u.spool.Len())
				return fmt.Errorf("flush: %d results stay in the spool: %w", u.spool.Len(), err)
			}
			failures++
			sleep(ctx, u.retryDelay(err, failures))
		case b.sent == 0:
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

// retryDelay is how long to wait after the failures-th failure in a row;
// the log says why, loudly at the first and then every few minutes
// (failureLog). A failure that will not heal (a refused token, https
// against an http port, an unverified certificate) waits the back-off
// cap.
func (u *Uploader) retryDelay(err error, failures int) time.Duration {
	var rec *recoverableError
	permanent := !errors.As(err, &rec)
	var d time.Duration
	switch {
	case permanent:
		d = backoffCap
	case rec.retryAfter > 0:
		d = rec.retryAfter
	default:
		d = u.jitter(backoff(failures))
	}
	d = min(d, maxRetryAfter)
	msg, _ := collectorFailure(err, strings.TrimSuffix(u.url, ingestPath))
	u.failures.failed(u.log, msg, permanent, failures, d, u.url, u.spool.Len())
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

// batchOutcome is what one exchange did.
type batchOutcome struct {
	sent    int  // results in the batch
	removed int  // results the spool forgot: acknowledged or rejected
	more    bool // a bound cut the batch: a backlog is waiting
}

// uploadBatch sends the oldest batch once and acknowledges in the spool
// what the collector acknowledged. The batch holds at most batchSize
// results and maxBytes of their JSON (at least one result).
func (u *Uploader) uploadBatch(ctx context.Context) (batchOutcome, error) {
	rs, more, err := u.spool.TakeBatch(u.batchSize, u.maxBytes)
	if err != nil || len(rs) == 0 {
		return batchOutcome{}, err
	}
	out := batchOutcome{sent: len(rs), more: more}
	first, last := rs[0].Seq, rs[len(rs)-1].Seq
	body, err := encodeBatch(wire.Batch{Probe: u.probeID, SentAt: time.Now().UTC(), FirstSeq: first,
		ProbeVersion: u.version, SpoolEpoch: u.spool.Epoch(), Dropped: u.spool.Unspooled(), BootID: u.boot, Results: rs})
	if err != nil {
		return out, err
	}
	ans, err := u.post(ctx, body)
	u.metrics.upload(err == nil)
	if errors.Is(err, errTooLarge) {
		u.shrink(rs, len(body), err)
	}
	if err != nil {
		return out, err
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
		return out, &recoverableError{err: fmt.Errorf("collector acknowledged none of seqs %d..%d (acked_seq %d)", first, last, ans.AckedSeq)}
	}
	if out.removed, err = u.spool.AckCount(acked, rejected); err != nil {
		return out, err
	}
	u.metrics.acked(acked)
	u.log.Debug("uploaded", "results", len(rs), "first_seq", first, "acked_seq", acked,
		"stored", ans.Stored, "duplicates", ans.Duplicates, "rejected", len(rejected))
	return out, nil
}

// shrink halves the batch bounds after a 413: the collector's limits are
// lower than its defaults. A single result too large stays too large.
func (u *Uploader) shrink(rs []wire.Result, body int, err error) {
	if len(rs) == 1 {
		u.log.Error("one result is larger than the collector accepts", "seq", rs[0].Seq, "body_bytes", body, "err", err)
		return
	}
	size := 0
	for _, r := range rs {
		v, _ := json.Marshal(r)
		size += len(v) + 1
	}
	u.batchSize = max(len(rs)/2, 1)
	u.maxBytes = max(size/2, 1)
	u.log.Warn("collector refused a batch as too large; sending smaller ones",
		"results", len(rs), "body_bytes", body, "batch_size", u.batchSize, "batch_json_bytes", u.maxBytes)
}
