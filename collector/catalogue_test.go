package collector

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
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
			Interval: time.Second, Timeout: 800 * time.Millisecond}, Regions: regions}
	}
	srv, st, collector := catalogueCollector(t, true,
		svc("perizinan", allowed.srv.URL, "99.01"),
		svc("intranet", refused.srv.URL),
		svc("far", elsewhere.srv.URL, "99.02"),
	)
	pcfg := westProbe(t, collector.URL, probe.AllowConfig{CIDRs: []string{"127.0.0.1/32"}}, 200*time.Millisecond)
	stop, logs, reg := runProbe(t, pcfg)
	stored := func() int { return storedOK(t, st, "perizinan") }
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

// TestLoadConfigServicesCentralRules: the collector holds its catalogue to
// what a probe will take from it. A ca_file is refused although the file
// exists here and holds a certificate (it is the probe's host that would
// read it), and intervals and the per-host rate have their floors.
func TestLoadConfigServicesCentralRules(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tcp := func(name, target, interval string) string {
		return fmt.Sprintf("  - {name: %s, kind: tcp, target: %q, interval: %s, timeout: 500ms}\n", name, target, interval)
	}
	tests := []struct{ name, services, wantErr string }{
		{"http ca_file", fmt.Sprintf("  - {name: a, kind: http, target: \"https://127.0.0.1/\", http: {tls: {ca_file: %q}}}\n", ca),
			`services[0].http.tls.ca_file "` + ca + `" names a file; a central check may not`},
		{"tcp ca_file", tcp("ok", "127.0.0.1:1", "1m") +
			fmt.Sprintf("  - {name: b, kind: tcp, target: \"127.0.0.1:993\", tcp: {tls: true, tls_config: {ca_file: %q}}}\n", ca),
			`services[1].tcp.tls_config.ca_file "` + ca + `" names a file; a central check may not`},
		{"interval", tcp("fast", "127.0.0.1:1", "900ms"), "services[0].interval (900ms) must be at least 1s in a central check"},
		{"host rate", tcp("a", "127.0.0.1:1", "1s") + tcp("b", "127.0.0.1:2", "1s") + tcp("c", "127.0.0.1:3", "1m"),
			"services[2].interval (1m0s) would make 2.02 runs per second against host 127.0.0.1 together with checks a, b; at most 2 per host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte("listen: 127.0.0.1:8080\nservices:\n"+tc.services), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	ok := tcp("a", "127.0.0.1:1", "1s") + tcp("b", "127.0.0.1:2", "1s") + tcp("c", "127.0.0.2:3", "1s")
	if _, err := ParseConfig([]byte("listen: 127.0.0.1:8080\nservices:\n"+ok), t.TempDir()); err != nil {
		t.Errorf("two checks a second per host: %v", err)
	}
}

// connCounter is a TCP target that counts the connections it accepts.
type connCounter struct {
	ln    net.Listener
	conns atomic.Int64
}

func newConnCounter(t *testing.T) *connCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connCounter{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

// TestCatalogueRefusedChecksLeaveTheRestRunning: a real collector serves a
// catalogue with entries no probe may run (its services set after the
// collector's own load, as a collector of another version or a hand-edited
// cache would serve them). A real probe logs, counts and skips each one
// and runs the rest: no entry stops it, none makes it open a file, and the
// 50 tcp checks at 10 ms never open a connection.
func TestCatalogueRefusedChecksLeaveTheRestRunning(t *testing.T) {
	good := newTarget(t, "127.0.0.1:0")
	flood := newConnCounter(t)
	pipe := filepath.Join(t.TempDir(), "ca.pem")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil { // opening it to read blocks
		t.Fatal(err)
	}
	t.Cleanup(func() { // releases a reader stuck in open, if any
		if w, err := os.OpenFile(pipe, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	check := func(name, kind, target string, interval time.Duration) checkspec.CheckConfig {
		return checkspec.CheckConfig{Name: name, Kind: kind, Target: target, Interval: interval, Timeout: interval / 2, Service: name}
	}
	bad := map[string]checkspec.CheckConfig{}
	add := func(cc checkspec.CheckConfig, f func(*checkspec.CheckConfig)) {
		f(&cc)
		bad[cc.Name] = cc
	}
	add(check("file-url", wire.KindHTTP, "file:///etc/passwd", time.Minute), func(*checkspec.CheckConfig) {})
	add(check("bad-regex", wire.KindHTTP, good.srv.URL+"/", time.Minute), func(c *checkspec.CheckConfig) {
		c.HTTP = &checkspec.HTTPOptions{FailIfBodyMatches: []string{"(oops"}}
	})
	add(check("ca-missing", wire.KindHTTP, "https://127.0.0.1:1/", time.Minute), func(c *checkspec.CheckConfig) {
		c.HTTP = &checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{CAFile: "/etc/jangkau/collector-only-ca.pem"}}
	})
	add(check("ca-fifo", wire.KindTCP, "127.0.0.1:993", time.Minute), func(c *checkspec.CheckConfig) {
		c.TCP = &checkspec.TCPOptions{TLS: true, TLSConfig: &checkspec.TLSOptions{CAFile: pipe}}
	})
	add(check("ca-zero", wire.KindHTTP, "https://127.0.0.1:1/", time.Minute), func(c *checkspec.CheckConfig) {
		c.HTTP = &checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{CAFile: "/dev/zero"}}
	})
	add(check("dns-name", wire.KindDNS, "portal.example.id", time.Minute), func(c *checkspec.CheckConfig) {
		c.DNS = &checkspec.DNSOptions{Server: "127.0.0.1:1", QueryName: "intranet.local"}
	})
	for i := range 50 {
		add(check(fmt.Sprintf("flood-%02d", i), wire.KindTCP, flood.ln.Addr().String(), 10*time.Millisecond), func(*checkspec.CheckConfig) {})
	}
	services := []ServiceConfig{{CheckConfig: check("perizinan", wire.KindHTTP, good.srv.URL+"/", time.Second)}}
	for _, name := range slices.Sorted(maps.Keys(bad)) {
		services = append(services, ServiceConfig{CheckConfig: bad[name]})
	}
	// Served as given: the collector's own load would refuse them.
	_, st, collector := catalogueCollector(t, false, services...)
	stop, logs, reg := runProbe(t, westProbe(t, collector.URL,
		probe.AllowConfig{CIDRs: []string{"127.0.0.1/32"}, Hosts: []string{"*.example.id"}}, time.Minute))
	stored := func() int { return storedOK(t, st, "perizinan") }
	waitUntil(t, "the good central check's results stored", func() bool { return stored() >= 2 })
	stop()

	if n := flood.conns.Load(); n != 0 {
		t.Errorf("the checks at 10 ms opened %d connections", n)
	}
	if got := gatherGauge(t, reg, "jangkau_probe_catalogue_refused_checks"); got != float64(len(bad)) {
		t.Errorf("jangkau_probe_catalogue_refused_checks = %g, want %d", got, len(bad))
	}
	for name := range bad {
		if got := gatherValue(t, reg, "jangkau_probe_catalogue_refused_total", "check", name); got != 1 {
			t.Errorf("refused_total{check=%s} = %g, want 1", name, got)
		}
	}
	for _, want := range []string{
		`check=file-url err="checks[6].target \"file:///etc/passwd\" must be an absolute http or https URL"`,
		`check=ca-fifo err="checks[2].tcp.tls_config.ca_file \"` + pipe + `\" names a file; a central check may not`,
		`check=ca-missing err="checks[3].http.tls.ca_file \"/etc/jangkau/collector-only-ca.pem\" names a file`,
		`check=ca-zero err="checks[4].http.tls.ca_file \"/dev/zero\" names a file`,
		`check=dns-name target=portal.example.id err="dns.query_name \"intranet.local\": host \"intranet.local\" is outside allow`,
		`check=flood-00 err="checks[7].interval (10ms) must be at least 1s in a central check"`,
		fmt.Sprintf(`msg="catalogue applied" source=collector local=0 central=1 refused=%d scheduled=1`, len(bad)),
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// catalogueCollector runs a real collector on the embedded store that
// knows probe west (token tok-west, in 99.01.01) and serves services: run
// through the collector's load when validate is set, else as given (as a
// collector of another version, or a hand-edited one, could serve them).
func catalogueCollector(t *testing.T, validate bool, services ...ServiceConfig) (*Server, *embedded.Store, *httptest.Server) {
	t.Helper()
	cfg := DefaultConfig
	cfg.Probes = []ProbeConfig{{ID: "west", TokenSHA256: hash("tok-west"), Region: "99.01.01"}}
	if validate {
		cfg.Services = services
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !validate {
		cfg.Services = services
	}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := NewServer(&cfg, st, fixtureRegions(t), slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	collector := httptest.NewServer(srv.Handler())
	t.Cleanup(collector.Close)
	return srv, st, collector
}

// westProbe is the config of probe west taking its checks from collector.
func westProbe(t *testing.T, collector string, allow probe.AllowConfig, refresh time.Duration) *probe.Config {
	return &probe.Config{
		ID: "west", Collector: collector, Token: "tok-west",
		Spool:       spool.Config{Dir: t.TempDir(), MaxBytes: probe.DefaultConfig.Spool.MaxBytes},
		Upload:      probe.UploadConfig{Interval: 50 * time.Millisecond, BatchSize: 100, Timeout: 5 * time.Second},
		Concurrency: 4,
		Allow:       allow,
		Catalogue:   probe.CatalogueConfig{Enable: true, Refresh: refresh},
	}
}

// storedOK counts the successful results of probe west's check that st
// holds, with the check's name as their service.
func storedOK(t *testing.T, st *embedded.Store, check string) (n int) {
	now := time.Now()
	err := st.Scan(t.Context(), now.Add(-time.Hour), now.Add(time.Hour), func(r store.Record) error {
		if r.Probe == "west" && r.Check == check && r.OK && r.Service == check {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// gatherGauge reads an unlabelled gauge from reg (0 when absent).
func gatherGauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}
