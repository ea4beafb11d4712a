package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jangkau/jangkau/internal/testlog"
)

// downTransport refuses every connection while down is set, as an
// unreachable collector does, and serves h otherwise.
type downTransport struct {
	down *atomic.Bool
	h    http.Handler
}

func (t downTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.down.Load() {
		req.Body.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return handlerTransport{t.h}.RoundTrip(req)
}

// TestUploaderUnreachableCollector: a collector down for 16 minutes while
// the checks keep adding results gives one loud line, then one every 5
// minutes, not a WARN per attempt; the back-off reaches its 60 s cap and
// stays there although new results keep arriving; the return is logged.
func TestUploaderUnreachableCollector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newIngest(t)
		var down atomic.Bool
		down.Store(true)
		s := openSpool(t, t.TempDir())
		s.Add(results(1)...)
		logger, logs := testlog.New()
		u := testUploader(t, "http://127.0.0.1:1", s, logger)
		u.client.Transport = downTransport{&down, in}
		var attempts []time.Time
		u.jitter = func(d time.Duration) time.Duration { attempts = append(attempts, time.Now()); return d }

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { u.Run(ctx); close(done) }()
		checks, stopChecks := context.WithCancel(ctx)
		checksDone := make(chan struct{})
		go func() { // the checks: a result every 10 s
			defer close(checksDone)
			for checks.Err() == nil {
				time.Sleep(10 * time.Second)
				s.Add(results(1)...)
			}
		}()
		time.Sleep(16 * time.Minute)
		down.Store(false)
		time.Sleep(2 * time.Minute)
		stopChecks()
		<-checksDone
		time.Sleep(time.Second)
		cancel()
		<-done

		var gaps []time.Duration
		for i := 1; i < len(attempts); i++ {
			gaps = append(gaps, attempts[i].Sub(attempts[i-1]).Round(time.Second))
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
		if len(gaps) < len(want) || !slices.Equal(gaps[:len(want)], want) {
			t.Errorf("gaps between failed attempts %v, want them to start %v", gaps, want)
		}
		out := logs.String()
		if n := strings.Count(out, "cannot upload to the collector; results stay in the spool"); n != 1 {
			t.Errorf("%d loud lines, want 1:\n%s", n, out)
		}
		if n := strings.Count(out, "still cannot upload"); n < 2 || n > 3 {
			t.Errorf("%d reminder lines over 16 minutes, want 2 or 3 (every 5 m):\n%s", n, out)
		}
		if strings.Count(out, "\n") > 6 {
			t.Errorf("too many log lines for one outage:\n%s", out)
		}
		for _, w := range []string{"is not reachable", "connection refused", "failures=", "uploading to the collector again"} {
			if !strings.Contains(out, w) {
				t.Errorf("log lacks %q:\n%s", w, out)
			}
		}
		if s.Len() != 0 {
			t.Errorf("spool holds %d after the collector came back", s.Len())
		}
	})
}

// TestUploaderHTTPSAgainstHTTPPort: https to a port that speaks plain
// http will never work: it is an ERROR naming the fix, retried only at
// the back-off cap.
func TestUploaderHTTPSAgainstHTTPPort(t *testing.T) {
	srv := httptest.NewServer(newIngest(t))
	defer srv.Close()
	s := openSpool(t, t.TempDir())
	s.Add(results(2)...)
	logger, logs := testlog.New()
	u := testUploader(t, strings.Replace(srv.URL, "http://", "https://", 1), s, logger)
	u.jitter = func(time.Duration) time.Duration { t.Error("jitter used for a permanent failure"); return 0 }
	_, err := u.uploadBatch(t.Context())
	if err == nil {
		t.Fatal("upload over https to an http port succeeded")
	}
	if _, ok := errors.AsType[*recoverableError](err); ok {
		t.Errorf("err %v is retried as recoverable", err)
	}
	if d := u.retryDelay(err, 1); d != backoffCap {
		t.Errorf("retry in %v, want the cap %v", d, backoffCap)
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "the port speaks plain http: write http://") {
		t.Errorf("log does not say what to fix:\n%s", out)
	}
}
