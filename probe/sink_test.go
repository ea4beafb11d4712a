package probe

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
)

// TestSinkNeverBlocksOnASlowDisk stalls the spool's writer inside a
// commit and checks that the sink keeps returning at once, dropping and
// counting what the queue cannot hold.
func TestSinkNeverBlocksOnASlowDisk(t *testing.T) {
	const queueLen = 8
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var stalled atomic.Bool
	slowDisk := spool.BeforeCommit(func() {
		if stalled.CompareAndSwap(false, true) {
			entered <- struct{}{}
			<-release
		}
	})
	logger, logs := testlog.New()
	s := openSpool(t, t.TempDir(), spool.QueueLen(queueLen), slowDisk, spool.Logger(logger))
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, s)
	if err != nil {
		t.Fatal(err)
	}
	loc := &wire.Location{Lat: -6.1, Lon: 106.1}
	p := &Probe{cfg: &Config{Location: loc}, log: discard, spool: s, metrics: m}

	p.record(results(1)[0])
	<-entered // the writer holds one result and is stuck on the disk
	const n = 1000
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		for _, r := range results(n) {
			p.record(r)
		}
		done <- time.Since(start)
	}()
	select {
	case d := <-done:
		t.Logf("%d results recorded in %v while the disk was stuck", n, d)
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the sink blocked on a stuck spool")
	}
	if got := s.Dropped("queue_full"); got != n-queueLen {
		t.Errorf("Dropped(queue_full) = %d, want %d", got, n-queueLen)
	}
	if got := gathered(t, reg, "jangkau_probe_spool_dropped_total", "reason", "queue_full"); got != n-queueLen {
		t.Errorf("dropped_total{queue_full} = %v, want %d", got, n-queueLen)
	}
	if got := gathered(t, reg, "jangkau_probe_checks_total", "check", "c1", "kind", wire.KindTCP, "result", "failure"); got != 1 {
		t.Errorf("a dropped run is still a run: checks_total %v, want 1", got)
	}
	close(release)
	s.Sync()
	if s.Len() != 1+queueLen {
		t.Errorf("spool holds %d, want the stuck one and the %d queued", s.Len(), queueLen)
	}
	checkContiguous(t, s)
	held, _ := s.Take(1)
	if held[0].Location == nil || *held[0].Location != *loc {
		t.Errorf("result location %v, want the probe's %v", held[0].Location, loc)
	}
	if !strings.Contains(logs.String(), "queue was full") || !strings.Contains(logs.String(), "results=992") {
		t.Errorf("queue_full drops not logged:\n%s", logs.String())
	}
}
