package collector

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/internal/strictyaml"
	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/probe"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
)

func TestLoadConfigServicesBad(t *testing.T) {
	tests := []struct{ file, wantErr string }{
		{"services-timeout.bad.yml", "services[2].timeout (15s) must be shorter than interval (10s)"},
		{"services-dup.bad.yml", `services[1].name "portal" is already services[0].name`},
		{"services-region.bad.yml", `services[0].regions[1] "36..01" is not a region code prefix like 36.01`},
		{"services-kind.bad.yml", `services[0].kind "ftp" is not one of`},
		{"services-unknown-key.bad.yml", "field region not found"},
		{"services-no-name.bad.yml", "services[0].name is missing"},
		{"services-carrier.bad.yml", "services[0].carriers[1] must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := LoadConfig(filepath.Join("testdata", tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadConfigServicesGood(t *testing.T) {
	cfg, err := LoadConfig("testdata/services.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) != 2 {
		t.Fatalf("services = %+v", cfg.Services)
	}
	s0, s1 := cfg.Services[0], cfg.Services[1]
	if s0.Service != "perizinan" || s0.Interval != time.Minute || fmt.Sprint(s0.Regions) != "[36.01 36.02]" {
		t.Errorf("services[0] = %+v: service defaults to name", s0)
	}
	if s0.HTTP == nil || fmt.Sprint(s0.HTTP.ValidStatusCodes) != "[200 302]" {
		t.Errorf("services[0].http = %+v: the kind's option block is lost", s0.HTTP)
	}
	if s1.Service != "dukcapil" || s1.Interval != checkspec.DefaultCheckConfig.Interval || s1.Timeout != checkspec.DefaultCheckConfig.Timeout ||
		fmt.Sprint(s1.Carriers) != "[telkom xl]" || len(s1.Regions) != 0 {
		t.Errorf("services[1] = %+v", s1)
	}
}

// getChecks asks for a probe's checks and decodes them as a probe would.
func (f *fixture) getChecks(token, ifNoneMatch string) (int, http.Header, []string) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.http.URL+checkspec.CataloguePath, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusNotModified && len(body) != 0 {
			f.t.Errorf("304 with a body: %q", body)
		}
		return resp.StatusCode, resp.Header, nil
	}
	var doc checkspec.CatalogueDoc
	if err := strictyaml.Decode(body, &doc); err != nil {
		f.t.Fatalf("decode %q: %v", body, err)
	}
	var names []string
	for _, c := range doc.Checks {
		names = append(names, c.Name)
	}
	return resp.StatusCode, resp.Header, names
}

func servicesFixture(t *testing.T) *fixture {
	svc := func(name string, regions, carriers []string) ServiceConfig {
		return ServiceConfig{CheckConfig: checkspec.CheckConfig{Name: name, Kind: wire.KindTCP, Target: "127.0.0.1:9",
			Interval: time.Minute, Timeout: time.Second}, Regions: regions, Carriers: carriers}
	}
	return newFixture(t, func(c *Config) {
		c.Probes[0].Carrier = "telkom"
		c.Services = []ServiceConfig{
			svc("everywhere", nil, nil),
			svc("kab01", []string{"99.01"}, nil),
			svc("kec0101", []string{"99.01.01"}, nil),
			svc("kab02", []string{"99.02"}, nil),
			svc("telkom-only", nil, []string{"Telkom"}),
			svc("kab02-or-timur", []string{"99.02", "99.01.02"}, nil),
			svc("prefix-not-segment", []string{"99.0"}, nil),
		}
	})
}

func TestSelfChecksByRegionAndCarrier(t *testing.T) {
	f := servicesFixture(t)
	for _, tc := range []struct {
		name, token string
		want        int
		checks      string
	}{
		{"no token", "", 401, "[]"},
		{"unknown token", "tok-nobody", 401, "[]"},
		{"viewer key", "view-key", 401, "[]"},
		{"west, 99.01.01 on telkom", "tok-west", 200, "[everywhere kab01 kec0101 telkom-only]"},
		{"east, placed in 99.01.02, no carrier", "tok-east", 200, "[everywhere kab01 kab02-or-timur]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, names := f.getChecks(tc.token, "")
			if code != tc.want || fmt.Sprint(names) != tc.checks {
				t.Errorf("status %d checks %v, want %d %s", code, names, tc.want, tc.checks)
			}
			if code == 200 && hdr.Get("Content-Type") != "application/yaml" {
				t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
			}
		})
	}
}

func TestSelfChecksETag(t *testing.T) {
	f := servicesFixture(t)
	_, hdr, _ := f.getChecks("tok-west", "")
	etag := hdr.Get("ETag")
	if !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag %q", etag)
	}
	_, eastHdr, _ := f.getChecks("tok-east", "")
	if eastHdr.Get("ETag") == etag {
		t.Error("two different lists share an ETag")
	}
	for _, tc := range []struct {
		inm  string
		want int
	}{
		{etag, 304},
		{"W/" + etag, 304},
		{`"other", ` + etag, 304},
		{"*", 304},
		{`"other"`, 200},
		{eastHdr.Get("ETag"), 200},
	} {
		code, hdr, _ := f.getChecks("tok-west", tc.inm)
		if code != tc.want {
			t.Errorf("If-None-Match %s: status %d, want %d", tc.inm, code, tc.want)
		}
		if hdr.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: ETag %q, want %q", tc.inm, hdr.Get("ETag"), etag)
		}
	}
}

// target is an e-service stand-in that counts its requests.
type target struct {
	hits atomic.Int64
	srv  *httptest.Server
}

func newTarget(t *testing.T, addr string) *target {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	tg := &target{}
	tg.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
	})}}
	tg.srv.Start()
	t.Cleanup(tg.srv.Close)
	return tg
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 s", what)
		}
	}
}

// runProbe runs a probe until the returned stop is called.
func runProbe(t *testing.T, cfg *probe.Config) (stop func(), logs *testlog.Buffer, reg *prometheus.Registry) {
	t.Helper()
	log, logs := testlog.New()
	reg = prometheus.NewRegistry()
	p, err := probe.New(cfg, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	return func() { cancel(); <-done }, logs, reg
}

func gatherValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == name && l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// A real probe takes its checks from the real collector, runs the one its
// allow list admits, refuses the other, and starts from its cache when the
// collector is down.
func TestCatalogueThroughCollector(t *testing.T) {
	allowed := newTarget(t, "127.0.0.1:0")
	refused := newTarget(t, "127.0.0.2:0")
	elsewhere := newTarget(t, "127.0.0.1:0")
	svc := func(name, url string, regions ...string) ServiceConfig {
		return ServiceConfig{CheckConfig: checkspec.CheckConfig{Name: name, Kind: wire.KindHTTP, Target: url + "/",
			Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond}, Regions: regions}
	}
	cfg := DefaultConfig
	cfg.Probes = []ProbeConfig{{ID: "west", TokenSHA256: hash("tok-west"), Region: "99.01.01"}}
	cfg.Services = []ServiceConfig{
		svc("perizinan", allowed.srv.URL, "99.01"),
		svc("intranet", refused.srv.URL),
		svc("far", elsewhere.srv.URL, "99.02"),
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := NewServer(&cfg, st, fixtureRegions(t), slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	collector := httptest.NewServer(srv.Handler())
	defer collector.Close()

	pcfg := &probe.Config{
		ID: "west", Collector: collector.URL, Token: "tok-west",
		Spool:       spool.Config{Dir: t.TempDir(), MaxBytes: probe.DefaultConfig.Spool.MaxBytes},
		Upload:      probe.UploadConfig{Interval: 50 * time.Millisecond, BatchSize: 100, Timeout: 5 * time.Second},
		Concurrency: 4,
		Allow:       probe.AllowConfig{CIDRs: []string{"127.0.0.1/32"}},
		Catalogue:   probe.CatalogueConfig{Enable: true, Refresh: 200 * time.Millisecond},
	}
	stop, logs, reg := runProbe(t, pcfg)
	stored := func() (n int) {
		now := time.Now()
		st.Scan(context.Background(), now.Add(-time.Hour), now.Add(time.Hour), func(r store.Record) error {
			if r.Probe == "west" && r.Check == "perizinan" && r.OK && r.Service == "perizinan" {
				n++
			}
			return nil
		})
		return n
	}
	waitUntil(t, "perizinan results stored at the collector", func() bool { return stored() >= 3 })
	stop()
	if n := refused.hits.Load(); n != 0 {
		t.Errorf("the refused check's target saw %d requests", n)
	}
	if n := elsewhere.hits.Load(); n != 0 {
		t.Errorf("a check for another kabupaten reached this probe: %d requests", n)
	}
	if got := gatherValue(t, reg, "jangkau_probe_catalogue_refused_total", "check", "intranet"); got < 1 {
		t.Errorf("refused{check=intranet} = %g, want at least 1", got)
	}
	if want := `msg="catalogue: central check refused" check=intranet target=` + refused.srv.URL; !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, logs)
	}

	// Restart with the collector down: the cached list runs.
	addr := collector.Listener.Addr().String()
	collector.Close()
	before, storedBefore := allowed.hits.Load(), stored()
	stop, logs, _ = runProbe(t, pcfg)
	waitUntil(t, "the cached check runs", func() bool { return allowed.hits.Load() >= before+3 })
	if !strings.Contains(logs.String(), `msg="catalogue applied" source=cache`) {
		t.Errorf("the restarted probe did not start from its cache:\n%s", logs)
	}
	// The collector comes back on its address: what ran offline arrives.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("collector back on %s: %v", addr, err)
	}
	back := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.Handler()}}
	back.Start()
	defer back.Close()
	waitUntil(t, "offline results stored", func() bool { return stored() >= storedBefore+3 })
	stop()
	if n := refused.hits.Load(); n != 0 {
		t.Errorf("the refused check's target saw %d requests after the restart", n)
	}
}
