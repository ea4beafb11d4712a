package probe

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/prometheus/client_golang/prometheus"
)

// TestUploaderReportsBacklogProgress drains 25 batches from a collector
// that takes 1 s per batch, on a fake clock: progress is logged every
// 10 s with the rate and the time left, and exported.
func TestUploaderReportsBacklogProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newIngest(t)
		slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Second)
			in.ServeHTTP(w, r)
		})
		s := openSpool(t, t.TempDir())
		rs := results(2500)
		for i := range rs {
			rs[i].Time = time.Now().Add(-time.Hour)
		}
		s.Add(rs...)
		logger, logs := testlog.New()
		u := testUploader(t, "http://127.0.0.1:1", s, logger)
		u.client.Transport = handlerTransport{slow}
		u.batchSize = 100
		reg := prometheus.NewRegistry()
		var err error
		if u.metrics, err = newMetrics(reg, s); err != nil {
			t.Fatal(err)
		}
		if got := gathered(t, reg, "jangkau_probe_spool_oldest_result_age_seconds"); got != 3600 {
			t.Errorf("oldest_result_age_seconds %v, want 3600", got)
		}

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { u.Run(ctx); close(done) }()
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if got := gathered(t, reg, "jangkau_probe_upload_backlog_drain_rate"); got != 100 {
			t.Errorf("drain rate after 10 s: %v, want 100 results/s", got)
		}
		if got := gathered(t, reg, "jangkau_probe_spool_results"); got != 1500 {
			t.Errorf("spool_results after 10 s: %v, want 1500", got)
		}
		time.Sleep(20 * time.Second)
		cancel()
		<-done

		out := logs.String()
		for _, want := range []string{
			`msg="uploading a backlog" results=2400`,
			`msg="backlog draining" remaining=1500 rate_per_s=100 eta=15s`,
			`msg="backlog draining" remaining=500 rate_per_s=100 eta=5s`,
			`msg="backlog drained" results=2500 took=25s`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
		}
		if s.Len() != 0 {
			t.Errorf("%d left in the spool", s.Len())
		}
	})
}
