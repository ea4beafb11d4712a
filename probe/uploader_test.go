package probe

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/common/version"
)

// ingest is a stand-in collector that speaks the protocol minimally: it
// decodes the gzip Batch, records seqs and acknowledges the highest seq
// seen. fault, when set, may answer a request instead.
type ingest struct {
	t     *testing.T
	fault func(n int, w http.ResponseWriter) bool

	mu      sync.Mutex
	n       int
	seen    map[uint64]int
	batches []wire.Batch
	times   []time.Time
	maxSeq  uint64
}

func newIngest(t *testing.T) *ingest { return &ingest{t: t, seen: map[uint64]int{}} }

func (in *ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.n++
	in.times = append(in.times, time.Now())
	if in.fault != nil && in.fault(in.n, w) {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/ingest" ||
		r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Encoding") != "gzip" ||
		r.Header.Get("Content-Type") != "application/json" {
		in.t.Errorf("bad request: %s %s %v", r.Method, r.URL.Path, r.Header)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		in.t.Errorf("gzip: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var b wire.Batch
	if err := json.NewDecoder(zr).Decode(&b); err != nil {
		in.t.Errorf("decode batch: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	in.batches = append(in.batches, b)
	for _, res := range b.Results {
		in.seen[res.Seq]++
		in.maxSeq = max(in.maxSeq, res.Seq)
	}
	json.NewEncoder(w).Encode(wire.IngestResponse{AckedSeq: in.maxSeq, Stored: len(b.Results)})
}

func (in *ingest) requestTimes() []time.Time {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.times)
}

// handlerTransport serves requests in memory, so that the uploader runs
// inside a synctest bubble with a fake clock.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	defer req.Body.Close()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func testUploader(t *testing.T, collector string, s *spool.Spool, log *slog.Logger) *Uploader {
	t.Helper()
	cfg := &Config{ID: "pdg-01", Collector: collector, Token: "tok",
		Upload: UploadConfig{Interval: 50 * time.Millisecond, BatchSize: 1000, Timeout: 5 * time.Second}}
	u, err := NewUploader(cfg, s, log)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUploaderDeliversEverySeqOnce(t *testing.T) {
	// Every batch names the probe's version, so that /api/v1/probes can
	// show which districts run an old probe.
	defer func(v string) { version.Version = v }(version.Version)
	version.Version = "1.2.3-district"
	in := newIngest(t)
	srv := httptest.NewServer(in)
	defer srv.Close()
	s := openSpool(t, t.TempDir())
	if _, err := s.Add(results(2500)...); err != nil {
		t.Fatal(err)
	}
	u := testUploader(t, srv.URL, s, discard)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, func() bool { return s.Len() == 0 })
	// New results wake the idle uploader.
	if _, err := s.Add(results(7)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Len() == 0 })

	in.mu.Lock()
	defer in.mu.Unlock()
	for seq := uint64(1); seq <= 2507; seq++ {
		if in.seen[seq] != 1 {
			t.Fatalf("seq %d arrived %d times, want once", seq, in.seen[seq])
		}
	}
	for i, b := range in.batches {
		if len(b.Results) == 0 || len(b.Results) > 1000 || b.FirstSeq != b.Results[0].Seq || b.Probe != "pdg-01" || b.SentAt.IsZero() ||
			b.ProbeVersion != "1.2.3-district" {
			t.Errorf("batch %d: %d results, first_seq %d, probe %q, sent_at %v, probe_version %q",
				i, len(b.Results), b.FirstSeq, b.Probe, b.SentAt, b.ProbeVersion)
		}
	}
}

// waitFor polls cond for up to 10 s of real time: the upload goes over
// loopback, outside any fake clock.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}

func TestUploaderUnauthorizedKeepsSpool(t *testing.T) {
	in := newIngest(t)
	in.fault = func(_ int, w http.ResponseWriter) bool {
		http.Error(w, "unknown token", http.StatusUnauthorized)
		return true
	}
	srv := httptest.NewServer(in)
	defer srv.Close()
	s := openSpool(t, t.TempDir())
	s.Add(results(5)...)
	logger, logs := testlog.New()
	u := testUploader(t, srv.URL, s, logger)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := u.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded against a collector answering 401")
	}
	if s.Len() != 5 {
		t.Errorf("spool holds %d after 401, want all 5", s.Len())
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "bad or unknown token") {
		t.Errorf("401 not logged as a bad token error:\n%s", logs.String())
	}
}

func TestUploaderHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newIngest(t)
		in.fault = func(n int, w http.ResponseWriter) bool {
			if n > 1 {
				return false
			}
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		}
		s := openSpool(t, t.TempDir())
		s.Add(results(3)...)
		u := testUploader(t, "http://127.0.0.1:1", s, discard)
		u.client.Transport = handlerTransport{in}
		u.jitter = func(time.Duration) time.Duration { t.Error("jitter used despite Retry-After"); return 0 }

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := u.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		times := in.requestTimes()
		if len(times) != 2 || times[1].Sub(times[0]) != time.Second {
			t.Errorf("requests at %v, want two, 1 s apart", times)
		}
	})
}

func TestUploaderBacksOffExponentially(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newIngest(t)
		in.fault = func(n int, w http.ResponseWriter) bool {
			if n > 4 {
				return false
			}
			http.Error(w, "store down", http.StatusServiceUnavailable)
			return true
		}
		s := openSpool(t, t.TempDir())
		s.Add(results(3)...)
		u := testUploader(t, "http://127.0.0.1:1", s, discard)
		u.client.Transport = handlerTransport{in}
		u.jitter = func(d time.Duration) time.Duration { return d } // the ceiling of full jitter

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { u.Run(ctx); close(done) }()
		time.Sleep(time.Minute)
		cancel()
		<-done

		times := in.requestTimes()
		var gaps []time.Duration
		for i := 1; i < len(times); i++ {
			gaps = append(gaps, times[i].Sub(times[i-1]))
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
		if !slices.Equal(gaps, want) {
			t.Errorf("gaps between attempts %v, want %v", gaps, want)
		}
		if s.Len() != 0 {
			t.Errorf("spool holds %d after the collector recovered", s.Len())
		}
	})
}

// TestUploadBatchAnswers checks what one exchange leaves in the spool.
func TestUploadBatchAnswers(t *testing.T) {
	answer := func(code int, resp wire.IngestResponse) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(resp)
		}
	}
	tests := []struct {
		name            string
		handler         http.Handler
		wantHeld        []uint64
		wantErr         bool
		wantRecoverable bool
	}{
		{name: "all acked", handler: answer(200, wire.IngestResponse{AckedSeq: 3}), wantHeld: []uint64{4, 5}},
		{name: "ack past the batch", handler: answer(200, wire.IngestResponse{AckedSeq: 99}), wantHeld: []uint64{4, 5}},
		{name: "partial ack", handler: answer(200, wire.IngestResponse{AckedSeq: 1}), wantHeld: []uint64{2, 3, 4, 5}},
		{name: "rejected by index", handler: answer(200, wire.IngestResponse{AckedSeq: 0, Rejected: []wire.Rejection{{Index: 1, Field: "time", Reason: "in the future"}}}),
			wantHeld: []uint64{1, 3, 4, 5}},
		{name: "rejected by seq", handler: answer(200, wire.IngestResponse{AckedSeq: 1, Rejected: []wire.Rejection{{Index: 2, Seq: 3, Field: "kind", Reason: "unknown"}}}),
			wantHeld: []uint64{2, 4, 5}},
		{name: "no progress", handler: answer(200, wire.IngestResponse{AckedSeq: 0}), wantHeld: []uint64{1, 2, 3, 4, 5}, wantErr: true, wantRecoverable: true},
		{name: "bad request", handler: answer(400, wire.IngestResponse{}), wantHeld: []uint64{1, 2, 3, 4, 5}, wantErr: true},
		{name: "forbidden", handler: answer(403, wire.IngestResponse{}), wantHeld: []uint64{1, 2, 3, 4, 5}, wantErr: true},
		{name: "server error", handler: answer(500, wire.IngestResponse{}), wantHeld: []uint64{1, 2, 3, 4, 5}, wantErr: true, wantRecoverable: true},
		{name: "garbage answer", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }),
			wantHeld: []uint64{1, 2, 3, 4, 5}, wantErr: true, wantRecoverable: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openSpool(t, t.TempDir())
			s.Add(results(5)...)
			u := testUploader(t, "http://127.0.0.1:1", s, discard)
			u.batchSize = 3
			u.client.Transport = handlerTransport{tc.handler}
			_, err := u.uploadBatch(t.Context())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var rec *recoverableError
			if err != nil && errors.As(err, &rec) != tc.wantRecoverable {
				t.Errorf("err %v: recoverable %v, want %v", err, !tc.wantRecoverable, tc.wantRecoverable)
			}
			held, _ := s.Take(100)
			if !slices.Equal(seqsOf(held), tc.wantHeld) {
				t.Errorf("spool holds %v, want %v", seqsOf(held), tc.wantHeld)
			}
		})
	}
}

// bodySizes wraps a collector to record each request's gzip body size.
type bodySizes struct {
	h     http.Handler
	mu    sync.Mutex
	sizes []int
}

func (b *bodySizes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.sizes = append(b.sizes, len(body))
	b.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	b.h.ServeHTTP(w, r)
}

func TestUploaderBoundsBatchBytes(t *testing.T) {
	in := newIngest(t)
	sizes := &bodySizes{h: in}
	s := openSpool(t, t.TempDir())
	rs := results(300)
	rng := rand.NewChaCha8([32]byte{1})
	for i := range rs { // 4 KiB of error text each that gzip cannot shrink much
		msg := make([]byte, 2<<10)
		rng.Read(msg)
		rs[i].Error = hex.EncodeToString(msg)
	}
	s.Add(rs...)
	u := testUploader(t, "http://127.0.0.1:1", s, discard)
	u.client.Transport = handlerTransport{sizes}
	if err := u.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.seen) != 300 || len(in.batches) < 2 {
		t.Fatalf("%d results in %d batches, want 300 in at least 2 (about 1.3 MiB of JSON)", len(in.seen), len(in.batches))
	}
	for i, b := range in.batches {
		raw, _ := json.Marshal(b)
		if len(raw) > maxBatchBytes || sizes.sizes[i] > maxBatchBytes {
			t.Errorf("batch %d: %d results, %d B of JSON, %d B gzip; want both <= %d", i, len(b.Results), len(raw), sizes.sizes[i], maxBatchBytes)
		}
	}
}

func TestUploaderShrinksBatchesOn413(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newIngest(t)
		limit := &limitResults{h: in, max: 300}
		s := openSpool(t, t.TempDir())
		s.Add(results(1000)...)
		logger, logs := testlog.New()
		u := testUploader(t, "http://127.0.0.1:1", s, logger)
		u.client.Transport = handlerTransport{limit}
		if err := u.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if s.Len() != 0 || u.batchSize != 250 {
			t.Errorf("left %d in the spool, batch size %d; want 0 and 250 (1000 halved twice)", s.Len(), u.batchSize)
		}
		if !strings.Contains(logs.String(), "sending smaller ones") {
			t.Errorf("the shrink is not logged:\n%s", logs.String())
		}
	})
}

// limitResults answers 413 to a batch of more than max results, as a
// collector with a low limits.max_results does.
type limitResults struct {
	h   http.Handler
	max int
}

func (l *limitResults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	zr, _ := gzip.NewReader(bytes.NewReader(body))
	var b wire.Batch
	json.NewDecoder(zr).Decode(&b)
	if len(b.Results) > l.max {
		http.Error(w, "too many results", http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	l.h.ServeHTTP(w, r)
}

func TestUploaderFlushCommitsQueuedResults(t *testing.T) {
	in := newIngest(t)
	s := openSpool(t, t.TempDir())
	for _, r := range results(500) {
		s.Offer(r)
	}
	u := testUploader(t, "http://127.0.0.1:1", s, discard)
	u.client.Transport = handlerTransport{in}
	if err := u.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.seen) != 500 || in.maxSeq != 500 {
		t.Errorf("collector got %d results up to seq %d, want 500", len(in.seen), in.maxSeq)
	}
}
