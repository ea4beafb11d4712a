package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/probe/check"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
)

func TestDecodeCatalogueBad(t *testing.T) {
	tests := []struct{ file, wantErr string }{
		{"unknown_key", "field retries not found"},
		{"unknown_top", "field version not found"},
		{"bare_duration", "write a duration such as 30s"},
		{"not_list", "cannot unmarshal"},
		{"empty", "catalogue is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "catalogue_"+tc.file+".bad.yml"))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = decodeCatalogue(body)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestDecodeCatalogueSkipsBadEntries(t *testing.T) {
	body, err := os.ReadFile("testdata/catalogue_mixed.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	checks, bad, err := decodeCatalogue(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []checkspec.CheckConfig{
		{Name: "portal", Kind: wire.KindHTTP, Target: "http://127.0.0.1:9000/", Interval: 10 * time.Second, Timeout: 2 * time.Second, Service: "perizinan"},
		{Name: "gateway", Kind: wire.KindTCP, Target: "127.0.0.1:9003", Interval: checkspec.DefaultCheckConfig.Interval, Timeout: checkspec.DefaultCheckConfig.Timeout},
	}
	if fmt.Sprint(checks) != fmt.Sprint(want) {
		t.Errorf("checks\n got %+v\nwant %+v", checks, want)
	}
	wantBad := []string{
		"slow: checks[1].timeout (15s) must be shorter than interval (10s)",
		`ftp: checks[2].kind "ftp" is not one of`,
		`portal: checks[3].name "portal" is already used by checks[0]`,
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("bad = %v, want %d", bad, len(wantBad))
	}
	for i, w := range wantBad {
		if got := bad[i].name + ": " + bad[i].err.Error(); !strings.HasPrefix(got, w) {
			t.Errorf("bad[%d] = %q, want it to start with %q", i, got, w)
		}
	}
}

func TestCatalogueConfig(t *testing.T) {
	base := "id: p1\ncollector: http://127.0.0.1:1\ntoken: t\nspool: {dir: /var/lib/jangkau}\n"
	cfg, err := ParseConfig([]byte(base+"catalogue: {enabled: true}\nallow: {cidrs: [127.0.0.0/8]}\n"), t.TempDir())
	if err != nil {
		t.Fatalf("a catalogue alone is enough: %v", err)
	}
	if got := cfg.Catalogue.cachePath(cfg.Spool.Dir); got != "/var/lib/jangkau/catalogue.yaml" {
		t.Errorf("cache %s, want it in spool.dir", got)
	}
	if cfg.Catalogue.refresh() != 5*time.Minute {
		t.Errorf("refresh %s, want the 5m default", cfg.Catalogue.refresh())
	}
	cfg.Catalogue.Cache = "/tmp/x.yaml"
	if got := cfg.Catalogue.cachePath(cfg.Spool.Dir); got != "/tmp/x.yaml" {
		t.Errorf("absolute cache moved to %s", got)
	}
	for _, tc := range []struct{ yaml, wantErr string }{
		{"catalogue: {enabled: true, refresh: -1s}\n", "catalogue.refresh (-1s) must be positive"},
		{"catalogue: {enabled: true, every: 1m}\n", "field every not found"},
		{"catalogue: {enabled: false}\n", "checks: none configured"},
		{"allow: {hosts: ['*.*.id']}\ncatalogue: {enabled: true}\n", `allow.hosts[0] "*.*.id"`},
	} {
		if _, err := ParseConfig([]byte(base+tc.yaml), t.TempDir()); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want %q", tc.yaml, err, tc.wantErr)
		}
	}
}

func catalogueProbe(t *testing.T, collector string, allow AllowConfig, local ...checkspec.CheckConfig) (*Probe, *testlog.Buffer, *prometheus.Registry) {
	t.Helper()
	logger, logs := testlog.New()
	reg := prometheus.NewRegistry()
	cfg := &Config{
		ID: "p1", Collector: collector, Token: "tok",
		Spool:       spool.Config{Dir: t.TempDir(), MaxBytes: DefaultConfig.Spool.MaxBytes},
		Upload:      UploadConfig{Interval: 20 * time.Millisecond, BatchSize: 100, Timeout: 5 * time.Second},
		Concurrency: 4,
		Checks:      local,
		Allow:       allow,
		Catalogue:   CatalogueConfig{Enable: true, Refresh: 50 * time.Millisecond},
	}
	p, err := New(cfg, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p, logs, reg
}

const mergeBody = `checks:
  - {name: gw, kind: tcp, target: "127.0.0.1:7", interval: 1h, timeout: 1s}
  - {name: inside, kind: tcp, target: "127.0.0.5:80", interval: 1h, timeout: 1s}
  - {name: outside, kind: tcp, target: "10.0.0.1:80", interval: 1h, timeout: 1s}
  - {name: named, kind: http, target: "http://intranet.example.id/", interval: 1h, timeout: 1s}
`

func TestApplyCatalogueMerges(t *testing.T) {
	local := checkspec.CheckConfig{Name: "gw", Kind: wire.KindTCP, Target: "127.0.0.1:9", Interval: time.Hour, Timeout: time.Second}
	p, logs, reg := catalogueProbe(t, "http://127.0.0.1:1", AllowConfig{CIDRs: []string{"127.0.0.0/8"}}, local)
	defer p.Close()
	if err := p.applyBody([]byte(mergeBody), "test"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.sched.Names()); got != "[gw inside]" {
		t.Errorf("scheduled %s, want the local gw and the central check inside allow", got)
	}
	if got := p.sched.checks["gw"].cc.Target; got != local.Target {
		t.Errorf("gw targets %s: the central check replaced the local one", got)
	}
	for name, want := range map[string]float64{"outside": 1, "named": 1, "inside": 0, "gw": 0} {
		if got := refusedCount(t, reg, name); got != want {
			t.Errorf("refused{check=%s} = %g, want %g", name, got, want)
		}
	}
	for _, want := range []string{
		`msg="catalogue: central check refused" check=outside target=10.0.0.1:80`,
		`check=named target=http://intranet.example.id/ err="target \"http://intranet.example.id/\": host \"intranet.example.id\" is outside allow`,
		`msg="catalogue: central check skipped, a local check has its name" check=gw`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestApplyCatalogueWithoutAllowRefusesAll(t *testing.T) {
	local := checkspec.CheckConfig{Name: "own", Kind: wire.KindTCP, Target: "192.0.2.1:9", Interval: time.Hour, Timeout: time.Second}
	p, logs, reg := catalogueProbe(t, "http://127.0.0.1:1", AllowConfig{}, local)
	defer p.Close()
	if err := p.applyBody([]byte(mergeBody), "test"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.sched.Names()); got != "[own]" {
		t.Errorf("scheduled %s, want only the local check", got)
	}
	if want := "catalogue: no allow list, refusing 4 central checks; set allow.cidrs/allow.hosts"; !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, logs)
	}
	if got := refusedCount(t, reg, "inside"); got != 1 {
		t.Errorf("refused{check=inside} = %g, want 1", got)
	}
}

// refusedCount reads jangkau_probe_catalogue_refused_total{check} from
// the probe's registry (0 when absent).
func refusedCount(t *testing.T, reg *prometheus.Registry, check string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "jangkau_probe_catalogue_refused_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "check" && l.GetValue() == check {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// fakeCatalogue serves a catalogue with an ETag, as the collector does,
// and takes uploads.
type fakeCatalogue struct {
	mu      sync.Mutex
	body    string
	inm     []string // If-None-Match of each catalogue request
	ingest  *ingest
	handler http.Handler
}

func newFakeCatalogue(t *testing.T, body string) *fakeCatalogue {
	f := &fakeCatalogue{body: body, ingest: newIngest(t)}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/ingest", f.ingest)
	mux.HandleFunc("GET "+checkspec.CataloguePath, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unknown probe token", http.StatusUnauthorized)
			return
		}
		f.inm = append(f.inm, r.Header.Get("If-None-Match"))
		etag := checkspec.CatalogueETag([]byte(f.body))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte(f.body))
	})
	f.handler = mux
	return f
}

func (f *fakeCatalogue) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.inm...)
}

func TestCatalogueFetchCachesAndPollsWithETag(t *testing.T) {
	const body = "checks:\n  - {name: central, kind: tcp, target: \"127.0.0.1:7\", interval: 1h, timeout: 1s}\n"
	fake := newFakeCatalogue(t, body)
	srv := httptest.NewServer(fake.handler)
	defer srv.Close()
	allow := AllowConfig{CIDRs: []string{"127.0.0.1/32"}}

	p, _, _ := catalogueProbe(t, srv.URL, allow)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, func() bool { return len(fake.requests()) >= 4 })
	if got := fmt.Sprint(p.sched.Names()); got != "[central]" {
		t.Errorf("scheduled %s, want [central]", got)
	}
	cancel()
	<-done

	etag := checkspec.CatalogueETag([]byte(body))
	reqs := fake.requests()
	if reqs[0] != "" {
		t.Errorf("first fetch sent If-None-Match %q without a cache", reqs[0])
	}
	for i, inm := range reqs[1:] {
		if inm != etag {
			t.Errorf("fetch %d sent If-None-Match %q, want %s", i+1, inm, etag)
		}
	}
	cache := filepath.Join(p.cfg.Spool.Dir, "catalogue.yaml")
	if got, err := os.ReadFile(cache); err != nil || string(got) != body {
		t.Errorf("cache %q (%v), want the body", got, err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(p.cfg.Spool.Dir, ".catalogue*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// A probe whose collector is down runs the cached list, and keeps it.
func TestCatalogueStartsFromCache(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	p, logs, _ := catalogueProbe(t, srv.URL, AllowConfig{CIDRs: []string{"127.0.0.0/8"}})
	body := "checks:\n  - {name: cached, kind: tcp, target: \"127.0.0.1:7\", interval: 1h, timeout: 1s}\n"
	if err := writeFileAtomic(p.cat.cache, []byte(body)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, func() bool { return strings.Count(logs.String(), "catalogue: fetch failed") >= 2 })
	if got := fmt.Sprint(p.sched.Names()); got != "[cached]" {
		t.Errorf("scheduled %s, want the cached list kept through failed fetches", got)
	}
	cancel()
	<-done
	if !strings.Contains(logs.String(), `msg="catalogue applied" source=cache`) {
		t.Errorf("logs do not say the cache was applied:\n%s", logs)
	}
}

// TestApplyCatalogueRefusesAndRunsTheRest: a central check whose checker
// cannot be built (here a constructor that panics, as the allow list's
// redirect guard once did on a typed nil) or that would take a host past
// the per-host rate is refused, logged and counted; the probe schedules
// the others and keeps its local check.
func TestApplyCatalogueRefusesAndRunsTheRest(t *testing.T) {
	local := checkspec.CheckConfig{Name: "own", Kind: wire.KindTCP, Target: "127.0.0.8:22", Interval: time.Second, Timeout: 500 * time.Millisecond}
	p, logs, reg := catalogueProbe(t, "http://127.0.0.1:1", AllowConfig{CIDRs: []string{"127.0.0.0/8"}}, local)
	defer p.Close()
	build := p.kinds[wire.KindTCP]
	p.kinds[wire.KindTCP] = func(cc checkspec.CheckConfig) (check.Checker, error) {
		if cc.Target == "127.0.0.9:80" {
			var c check.Checker
			c.Run(t.Context(), nil) // nil interface: panics
		}
		return build(cc)
	}
	const body = `checks:
  - {name: ok, kind: tcp, target: "127.0.0.5:80", interval: 1h, timeout: 1s}
  - {name: boom, kind: tcp, target: "127.0.0.9:80", interval: 1h, timeout: 1s}
  - {name: second, kind: tcp, target: "127.0.0.8:80", interval: 1s, timeout: 500ms}
  - {name: third, kind: tcp, target: "127.0.0.8:443", interval: 1m, timeout: 1s}
`
	if err := p.applyBody([]byte(body), "test"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.sched.Names()); got != "[ok own second]" {
		t.Errorf("scheduled %s, want [ok own second]", got)
	}
	for name, want := range map[string]float64{"boom": 1, "third": 1, "ok": 0, "second": 0} {
		if got := refusedCount(t, reg, name); got != want {
			t.Errorf("refused{check=%s} = %g, want %g", name, got, want)
		}
	}
	if got := gathered(t, reg, "jangkau_probe_catalogue_refused_checks"); got != 2 {
		t.Errorf("jangkau_probe_catalogue_refused_checks = %g, want 2", got)
	}
	for _, want := range []string{
		`msg="catalogue: central check refused" check=boom target=127.0.0.9:80 err="building its checker panicked:`,
		`check=third target=127.0.0.8:443 err="interval (1m0s) would make 2.02 runs per second against host 127.0.0.8 together with checks own, second; at most 2 per host`,
		`msg="catalogue applied" source=test local=1 central=2 refused=2 scheduled=3`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
