package collector

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/synth"
	"github.com/jangkau/jangkau/internal/cputime"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// countryCollector is a collector on a synthetic country (geo/synth) with
// probes at random desa that each sent one result of ten checks in the
// last minutes, served on loopback: what /metrics costs at scale.
type countryCollector struct {
	srv              *Server
	http             *httptest.Server
	probes, desa     int
	kecamatan, kabup int
	provinces        int
}

// countryChecks are a district probe's ten checks (as jangkau-bench
// country's): its uplink and seven e-services.
var countryChecks = []struct{ name, kind, service string }{
	{"gateway", wire.KindTCP, ""}, {"anchor", wire.KindICMP, ""}, {"resolver", wire.KindDNS, ""},
	{"perizinan", wire.KindHTTP, "perizinan"}, {"dukcapil", wire.KindHTTP, "dukcapil"},
	{"pajak", wire.KindHTTP, "pajak"}, {"bpjs", wire.KindHTTP, "bpjs"}, {"sekolah", wire.KindHTTP, "sekolah"},
	{"puskesmas", wire.KindHTTP, "puskesmas"}, {"lapor", wire.KindHTTP, "lapor"},
}

// newCountryCollector generates a country of scale × Indonesia's size
// (every level in the file), configures probes probes on random desa and
// sends each one batch of ten results through POST /api/v1/ingest.
// mutate changes the config before the server starts.
func newCountryCollector(tb testing.TB, scale float64, probes int, mutate func(*Config)) *countryCollector {
	tb.Helper()
	o := synth.Indonesia
	o.Seed = 17
	if scale != 1 {
		n := func(v int) int { return max(int(float64(v)*scale), 1) }
		o.Provinces = max(n(o.Provinces), 2)
		o.Kabupaten, o.Kecamatan, o.Desa = max(n(o.Kabupaten), o.Provinces), n(o.Kecamatan), n(o.Desa)
	}
	c, err := synth.Generate(o)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteGeoJSON(&buf, synth.WriteOptions{Levels: []int{1, 2, 3, 4}}); err != nil {
		tb.Fatal(err)
	}
	regions, err := region.Load(&buf, region.LoadOptions{PopulationProperty: "penduduk"})
	if err != nil {
		tb.Fatal(err)
	}
	buf = bytes.Buffer{}
	cfg := DefaultConfig
	cfg.PublicRead = true
	cfg.Limits.ProbeRequestsPerSecond, cfg.Limits.ProbeBurst = 1000, 1000
	rng := rand.New(rand.NewPCG(17, 17))
	desa := c.Levels[4]
	for i := range probes {
		d := desa[rng.IntN(len(desa))]
		ctr := c.CellCenter(d.Cells.X0, d.Cells.Y0)
		cfg.Probes = append(cfg.Probes, ProbeConfig{ID: fmt.Sprintf("p%05d", i), TokenSHA256: hash(countryToken(i)),
			Region: d.Code, Location: &Location{Lat: ctr[1], Lon: ctr[0]}})
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	st, err := embedded.Open(filepath.Join(dir, "data"), embedded.NoSync())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	ev, err := evidence.OpenFile(filepath.Join(dir, evidence.FileName))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ev.Close() })
	srv, err := NewServer(&cfg, st, regions, slog.New(slog.DiscardHandler), Options{Evidence: ev})
	if err != nil {
		tb.Fatal(err)
	}
	cc := &countryCollector{srv: srv, http: httptest.NewServer(srv.Handler()), probes: probes,
		provinces: len(c.Levels[1]), kabup: len(c.Levels[2]), kecamatan: len(c.Levels[3]), desa: len(c.Levels[4])}
	tb.Cleanup(cc.http.Close)
	tb.Cleanup(srv.metrics.regions.idle) // a computation a last scrape started
	cc.ingest(tb, time.Now())
	return cc
}

func countryToken(i int) string { return "country-" + strconv.Itoa(i) }

// ingest sends every probe one batch: its ten checks once, in the minutes
// before now; 4 % of the probes fail every check, 10 % a third of them.
func (cc *countryCollector) ingest(tb testing.TB, now time.Time) {
	tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cc.probes; i += 4 {
				if err := cc.send(i, now); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

func (cc *countryCollector) send(i int, now time.Time) error {
	rng := rand.New(rand.NewPCG(uint64(i), 3))
	fail := [...]float64{0.01, 0.3, 1}[min(2, rng.IntN(100)/86+rng.IntN(100)/96)]
	rs := make([]wire.Result, len(countryChecks))
	for k, ch := range countryChecks {
		r := wire.Result{Seq: uint64(k + 1), Time: now.Add(-time.Duration(k+1) * 20 * time.Second), Check: ch.name, Kind: ch.kind,
			Service: ch.service, Target: "192.0.2." + strconv.Itoa(1+k) + ":443", OK: true, DurationMS: 20 + 200*rng.ExpFloat64()}
		if rng.Float64() < fail {
			r.OK, r.DurationMS, r.ErrorClass = false, 10000, wire.ClassTimeout
		}
		rs[k] = r
	}
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	if err := json.NewEncoder(zw).Encode(wire.Batch{Probe: fmt.Sprintf("p%05d", i), SentAt: now, FirstSeq: 1, Results: rs}); err != nil {
		return err
	}
	zw.Close()
	req, _ := http.NewRequest("POST", cc.http.URL+"/api/v1/ingest", &body)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+countryToken(i))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("ingest p%05d: %s %s", i, resp.Status, raw)
	}
	return nil
}

// scrape is one GET /metrics as text: its lines, bytes and duration.
type scrape struct {
	lines, bytes int
	took         time.Duration
	body         []byte
}

func (cc *countryCollector) scrape(tb testing.TB) scrape {
	tb.Helper()
	start := time.Now()
	resp, err := http.Get(cc.http.URL + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET /metrics: %v %s", err, resp.Status)
	}
	return scrape{lines: bytes.Count(body, []byte("\n")), bytes: len(body), took: time.Since(start), body: body}
}

// countryScale reads JANGKAU_COUNTRY_SCALE (a fraction of Indonesia's
// size; default def) and JANGKAU_COUNTRY_PROBES (default 20,000 × scale).
func countryScale(tb testing.TB, def float64) (float64, int) {
	scale := def
	if s := os.Getenv("JANGKAU_COUNTRY_SCALE"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || v > 1 {
			tb.Fatalf("JANGKAU_COUNTRY_SCALE=%q: want a fraction in (0, 1]", s)
		}
		scale = v
	}
	probes := max(int(20000*scale), 10)
	if s := os.Getenv("JANGKAU_COUNTRY_PROBES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			tb.Fatalf("JANGKAU_COUNTRY_PROBES=%q: want a count", s)
		}
		probes = v
	}
	return scale, probes
}

// BenchmarkMetricsCountry times GET /metrics on a synthetic country:
// Indonesia's size and 20,000 probes by default (about a minute and
// 3 GB to build; JANGKAU_COUNTRY_SCALE=0.1 for a tenth).
//
//	go test ./collector -run '^$' -bench MetricsCountry -benchtime 5x
func BenchmarkMetricsCountry(b *testing.B) {
	scale, probes := countryScale(b, 1)
	cc := newCountryCollector(b, scale, probes, nil)
	b.Logf("%d provinces, %d kabupaten, %d kecamatan, %d desa, %d probes", cc.provinces, cc.kabup, cc.kecamatan, cc.desa, cc.probes)
	// The first scrape starts the coverage computation; the scrapes timed
	// are those that serve its figures, as every scrape but one per
	// metrics.refresh does.
	cpu0 := cputime.Self()
	first := cc.scrape(b)
	cc.srv.metrics.regions.idle()
	firstCPU := cputime.Self() - cpu0
	var last scrape
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 = cputime.Self()
	for b.Loop() {
		last = cc.scrape(b)
	}
	b.ReportMetric((cputime.Self()-cpu0).Seconds()/float64(b.N), "cpu-s/scrape")
	// ResetTimer drops metrics reported before it.
	b.ReportMetric(first.took.Seconds(), "first-s")
	b.ReportMetric(firstCPU.Seconds(), "first-cpu-s")
	if f := cc.srv.metrics.regions.kept; f != nil {
		b.ReportMetric(f.took.Seconds(), "coverage-s")
	}
	b.ReportMetric(float64(last.lines), "lines/scrape")
	b.ReportMetric(float64(last.bytes), "bytes/scrape")
	counts := map[string]int{}
	for _, l := range bytes.Split(last.body, []byte("\n")) {
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if i := bytes.IndexAny(l, "{ "); i > 0 {
			counts[string(l[:i])]++
		}
	}
	b.Logf("series by name: %v", counts)
}

// TestPrometheusScrapesCountry lets a real Prometheus scrape a collector
// on a synthetic country with its default scrape timeout (10 s) and
// checks that every scrape succeeded within it, and that Prometheus has
// what the dashboards and alerts read: the status of every region of
// levels 1 to 3 and each probe's last seen. By default on 2 % of
// Indonesia (400 probes); JANGKAU_COUNTRY_SCALE=1 is the whole country
// with 20,000 probes (several minutes, about 4 GB).
func TestPrometheusScrapesCountry(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a country and runs Prometheus; skipped with -short")
	}
	promBin := testenv.LookPath(t, "prometheus", "prometheus")
	scale, probes := countryScale(t, 0.02)
	start := time.Now()
	cc := newCountryCollector(t, scale, probes, nil)
	t.Logf("%d provinces, %d kabupaten, %d kecamatan, %d desa, %d probes, built in %s",
		cc.provinces, cc.kabup, cc.kecamatan, cc.desa, cc.probes, time.Since(start).Round(time.Second))

	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	promAddr := ln.Addr().String()
	ln.Close()
	target := strings.TrimPrefix(cc.http.URL, "http://")
	cfg := fmt.Sprintf("global: {scrape_interval: 10s, scrape_timeout: 10s}\nscrape_configs:\n  - job_name: jangkau-collector\n    static_configs: [{targets: [%q]}]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	prom.Stdout, prom.Stderr = logf, logf
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		prom.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- prom.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			prom.Process.Kill()
			<-done
		}
		logf.Close()
	})
	promBase := "http://" + promAddr
	query := func(q string) (float64, bool) {
		resp, err := http.Get(promBase + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Result []struct{ Value [2]any }
			}
		}
		if json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Data.Result) != 1 {
			return 0, false
		}
		s, _ := out.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}

	// Every region of levels 1-3 has its one-hot status, every probe its
	// last seen: what the dashboards and the alerts read.
	wantStatus := float64(len(coverage.Statuses) * (cc.provinces + cc.kabup + cc.kecamatan))
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st, _ := query(`count(jangkau_region_status{job="jangkau-collector"})`)
		seen, _ := query(`count(jangkau_probe_last_seen_timestamp_seconds{job="jangkau-collector"})`)
		if st == wantStatus && seen == float64(cc.probes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has %g status series (want %g) and %g last-seen series (want %d)", st, wantStatus, seen, cc.probes)
		}
		time.Sleep(time.Second)
	}
	// Two more scrapes, then every scrape since the start is judged.
	time.Sleep(21 * time.Second)
	scrapes, _ := query(`count_over_time(up{job="jangkau-collector"}[10m])`)
	down, _ := query(`count_over_time(up{job="jangkau-collector"}[10m]) - sum_over_time(up{job="jangkau-collector"}[10m])`)
	longest, _ := query(`max_over_time(scrape_duration_seconds{job="jangkau-collector"}[10m])`)
	median, _ := query(`quantile_over_time(0.5, scrape_duration_seconds{job="jangkau-collector"}[10m])`)
	samples, _ := query(`max_over_time(scrape_samples_scraped{job="jangkau-collector"}[10m])`)
	t.Logf("%g scrapes, %g failed, median %.2f s, longest %.2f s, %g samples", scrapes, down, median, longest, samples)
	if scrapes < 3 || down > 0 || longest >= 10 {
		t.Errorf("%g scrapes, %g of them failed (up 0), the longest took %.2f s: want every scrape within Prometheus's 10 s timeout", scrapes, down, longest)
	}
}
