package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
)

func TestProbeRunFlowsAndFlushesOnShutdown(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			c.Close()
		}
	}()

	// The collector takes uploads while open, then answers 503 until the
	// probe shuts down: what arrives after that came from the final flush.
	in := newIngest(t)
	var down atomic.Bool
	in.fault = func(_ int, w http.ResponseWriter) bool {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	collector := httptest.NewServer(in)
	defer collector.Close()

	cfg := &Config{
		ID: "pdg-01", Collector: collector.URL, Token: "tok",
		Location:    &wire.Location{Lat: -6.31, Lon: 106.10},
		Spool:       spool.Config{Dir: t.TempDir(), MaxBytes: DefaultConfig.Spool.MaxBytes},
		Upload:      UploadConfig{Interval: 20 * time.Millisecond, BatchSize: 1000, Timeout: 5 * time.Second},
		Concurrency: 4,
		Checks: []checkspec.CheckConfig{
			{Name: "portal", Kind: wire.KindHTTP, Target: target.URL + "/", Interval: 500 * time.Millisecond, Timeout: 450 * time.Millisecond, Service: "perizinan"},
			{Name: "gateway", Kind: wire.KindTCP, Target: ln.Addr().String(), Interval: 500 * time.Millisecond, Timeout: 450 * time.Millisecond},
		},
	}
	reg := prometheus.NewRegistry()
	p, err := New(cfg, discard, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()

	seen := func() int { in.mu.Lock(); defer in.mu.Unlock(); return len(in.seen) }
	waitFor(t, func() bool { return seen() >= 10 })
	down.Store(true)
	waitFor(t, func() bool { return p.spool.Len() >= 4 }) // a backlog builds up
	down.Store(false)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	s := openSpool(t, cfg.Spool.Dir)
	if s.Len() != 0 {
		t.Errorf("%d results left in the spool after shutdown, want the flush to send all", s.Len())
	}
	last := s.LastSeq()
	in.mu.Lock()
	defer in.mu.Unlock()
	for seq := uint64(1); seq <= last; seq++ {
		if in.seen[seq] != 1 {
			t.Errorf("seq %d arrived %d times, want once", seq, in.seen[seq])
		}
	}
	for _, b := range in.batches {
		for _, r := range b.Results {
			if !r.OK || r.Location == nil || *r.Location != *cfg.Location {
				t.Fatalf("result %+v: want ok with the probe's location", r)
			}
			if r.Check == "portal" && (r.Service != "perizinan" || r.StatusCode != 200) {
				t.Fatalf("http result %+v", r)
			}
		}
	}

	checks := gathered(t, reg, "jangkau_probe_checks_total", "check", "portal", "kind", wire.KindHTTP, "result", "success") +
		gathered(t, reg, "jangkau_probe_checks_total", "check", "gateway", "kind", wire.KindTCP, "result", "success")
	if checks != float64(last) {
		t.Errorf("checks_total %v, want %d (one per spooled result)", checks, last)
	}
	if got := gathered(t, reg, "jangkau_probe_upload_acked_seq"); got != float64(last) {
		t.Errorf("upload_acked_seq %v, want %d", got, last)
	}
	if gathered(t, reg, "jangkau_probe_uploads_total", "result", "error") == 0 {
		t.Error("the 503s were not counted as upload errors")
	}
	if gathered(t, reg, "jangkau_probe_last_upload_success_timestamp_seconds") == 0 {
		t.Error("no successful upload time")
	}
	// The spool gauge reads the spool, closed by now: it keeps its count.
	if got := gathered(t, reg, "jangkau_probe_spool_results"); got != 0 {
		t.Errorf("spool_results %v after the final flush, want 0", got)
	}
}

// gathered is the value of the one series of name with the given label
// pairs, read from reg as a scrape would.
func gathered(t *testing.T, reg prometheus.Gatherer, name string, labelPairs ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labelPairs); i += 2 {
		want[labelPairs[i]] = labelPairs[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, want)
	return 0
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := &Config{ID: "x", Collector: "ftp://x", Token: "t"}
	if _, err := New(cfg, discard, nil); err == nil {
		t.Fatal("New accepted an invalid config")
	}
}
