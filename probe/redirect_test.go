package probe

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/probe/check/checktest"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
)

// TestCollectorRedirectNotFollowed: whatever answers at the collector's
// address redirects (307, which keeps the method and body) to a server on
// another host. A real probe neither posts its results there nor fetches
// its catalogue from there; its log names the Location and what to fix,
// and the results stay in its spool.
func TestCollectorRedirectNotFollowed(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusMovedPermanently} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			near, outside := checktest.RedirectOutside(t, code)
			tcp := checktest.DeadAddr(t)
			logger, logs := testlog.New()
			cfg := &Config{
				ID: "p1", Collector: near.URL, Token: "tok",
				Spool:       spool.Config{Dir: t.TempDir(), MaxBytes: DefaultConfig.Spool.MaxBytes},
				Upload:      UploadConfig{Interval: 20 * time.Millisecond, BatchSize: 100, Timeout: 5 * time.Second},
				Concurrency: 2,
				Allow:       AllowConfig{CIDRs: []string{"127.0.0.1/32"}},
				Catalogue:   CatalogueConfig{Enable: true, Refresh: 50 * time.Millisecond},
				Checks: []checkspec.CheckConfig{{Name: "gw", Kind: wire.KindTCP, Target: tcp,
					Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond}},
			}
			p, err := New(cfg, logger, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- p.Run(ctx) }()
			waitFor(t, func() bool {
				return strings.Contains(logs.String(), "catalogue: fetch failed") && strings.Contains(logs.String(), "upload failed")
			})
			cancel()
			<-done
			if n := outside.Load(); n != 0 {
				t.Errorf("the host the collector redirected to got %d requests", n)
			}
			want := "the probe follows no redirect: set collector (now \\\"" + near.URL + "\\\")"
			if got := strings.Count(logs.String(), want); got < 2 {
				t.Errorf("%d log lines say %q (want the upload's and the catalogue's):\n%s", got, want, logs)
			}
			if !strings.Contains(logs.String(), "to http://127.0.0.2:") {
				t.Errorf("logs do not name the Location:\n%s", logs)
			}
			if s := openSpool(t, cfg.Spool.Dir); s.Len() == 0 {
				t.Error("the spool is empty: results were given up")
			}
		})
	}
}
