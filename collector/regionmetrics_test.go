package collector

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

func gathered(t *testing.T, f *fixture) []*dto.MetricFamily {
	t.Helper()
	mfs, err := f.srv.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// series gathers the server's registry into "name{l=v,...}" → value.
func series(t *testing.T, f *fixture) map[string]float64 {
	t.Helper()
	mfs := gathered(t, f)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = sampleValue(mf.GetType(), m)
		}
	}
	return out
}

func sampleValue(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	return -1
}

func TestRegionMetrics(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	feedViews(t, f) // west good with perizinan, east blank on the uplink
	got := series(t, f)
	for key, want := range map[string]float64{
		"jangkau_region_status{code=99.01.01,level=3,status=good}":                       1,
		"jangkau_region_status{code=99.01.01,level=3,status=blank}":                      0,
		"jangkau_region_status{code=99.01.02,level=3,status=blank}":                      1,
		"jangkau_region_status{code=99.02.01,level=3,status=unmeasured}":                 1,
		"jangkau_region_status{code=99.01,level=2,status=degraded}":                      1,
		"jangkau_region_availability_ratio{code=99.01.01,level=3,name=Barat}":            1,
		"jangkau_region_availability_ratio{code=99.01.02,level=3,name=Timur}":            0,
		"jangkau_region_availability_ratio{code=99.01,level=2,name=99.01}":               0.5,
		"jangkau_region_samples{code=99,level=1,name=99}":                                40,
		"jangkau_region_samples{code=99.02.01,level=3,name=Jauh}":                        0,
		"jangkau_region_people_affected{code=99,level=1,name=99}":                        2000,
		"jangkau_region_people_affected{code=99.01.01,level=3,name=Barat}":               0,
		"jangkau_service_availability_ratio{code=99.01,level=2,service=perizinan}":       1,
		"jangkau_service_outage{service=perizinan}":                                      0,
		"jangkau_coverage_scrape_success{}":                                              1,
		"jangkau_probe_last_seen_timestamp_seconds{probe=west,region=99.01.01}":          float64(f.now.Unix()),
		"jangkau_region_latency_seconds{code=99.01.01,level=3,name=Barat,percentile=50}": 0.012,
	} {
		v, ok := got[key]
		if !ok {
			t.Errorf("no series %s", key)
		} else if !near(v, want) && v != want {
			t.Errorf("%s = %g, want %g", key, v, want)
		}
	}
	// Without samples there is no ratio and no latency: absent, not 0.
	for _, key := range []string{
		"jangkau_region_availability_ratio{code=99.02.01,level=3,name=Jauh}",
		"jangkau_region_latency_seconds{code=99.01.02,level=3,name=Timur,percentile=95}",
	} {
		if _, ok := got[key]; ok {
			t.Errorf("series %s exported without samples", key)
		}
	}
	// One-hot: each region has exactly one status at 1.
	hot := map[string]float64{}
	for k, v := range got {
		if strings.HasPrefix(k, "jangkau_region_status{") {
			hot[k[:strings.Index(k, ",status=")]] += v
		}
	}
	if len(hot) != 1+2+3 {
		t.Errorf("status series for %d regions, want 6 (levels 1-3)", len(hot))
	}
	for k, n := range hot {
		if n != 1 {
			t.Errorf("%s: %g statuses at 1", k, n)
		}
	}
	// The coverage series follow Prometheus's naming rules.
	problems, err := promlint.NewWithMetricFamilies(gathered(t, f)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

func TestRegionMetricsLevelsAndOutage(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Metrics = MetricsConfig{Levels: []int{3}, ServiceLevel: 3, Window: 10 * time.Minute}
		c.Probes = append(c.Probes, ProbeConfig{ID: "far", TokenSHA256: hash("tok-far"), Region: "99.02.01"})
	})
	// perizinan fails from all three kecamatan: an outage at its end.
	for _, p := range []string{"west", "east", "far"} {
		rs := results(1, 8, f.now, false, 5)
		for i := range rs {
			rs[i].Service = "perizinan"
		}
		if code, _, raw := f.post("tok-"+p, gz(t, wire.Batch{Probe: p, Results: rs})); code != 200 {
			t.Fatalf("ingest %s: %d %s", p, code, raw)
		}
	}
	got := series(t, f)
	if v, ok := got["jangkau_service_outage{service=perizinan}"]; !ok || v != 1 {
		t.Errorf("jangkau_service_outage{service=perizinan} = %g (present %v), want 1", v, ok)
	}
	if v := got["jangkau_service_availability_ratio{code=99.02.01,level=3,service=perizinan}"]; v != 0 {
		t.Errorf("service availability from 99.02.01 = %g, want 0", v)
	}
	for k := range got {
		if strings.Contains(k, "level=1") || strings.Contains(k, "level=2") {
			t.Errorf("series %s of a level not listed in metrics.levels", k)
		}
	}
	// The window is 10 minutes: results 10.5 minutes old are out of it.
	f.now = f.now.Add(7 * time.Minute)
	got = series(t, f)
	if v := got["jangkau_region_samples{code=99.02.01,level=3,name=Jauh}"]; v != 0 {
		t.Errorf("samples 7 min later = %g, want 0 (outage buckets are left out)", v)
	}
	if v := got["jangkau_service_outage{service=perizinan}"]; v != 0 {
		t.Errorf("outage 7 min after the last failure = %g, want 0", v)
	}
}

func TestMetricsConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"default", "", ""},
		{"desa listed", "metrics: {levels: [1, 2, 3, 4], window: 30m}", ""},
		{"none", "metrics: {levels: []}", ""},
		{"level too deep", "metrics: {levels: [1, 5]}", "metrics.levels[1] (5) must be within 1..4"},
		{"level zero", "metrics: {levels: [0]}", "metrics.levels[0] (0) must be within 1..4"},
		{"duplicate", "metrics: {levels: [2, 3, 2]}", "metrics.levels[2] (2) is already metrics.levels[0]"},
		{"short window", "metrics: {window: 10s}", "metrics.window (10s) must be between 1m and 24h"},
		{"service level", "metrics: {service_level: 9}", "metrics.service_level (9) must be within 1..4"},
		{"unknown key", "metrics: {level: [1]}", "field level not found"},
		{"refresh past the window", "metrics: {window: 5m, refresh: 6m}", "metrics.refresh (6m0s) must be between 1s and metrics.window (5m0s)"},
		{"refresh past the default window", "metrics: {refresh: 16m}", "metrics.refresh (16m0s) must be between 1s and metrics.window (15m0s)"},
		{"refresh", "metrics: {refresh: 30s, probe_series: essential}", ""},
		{"probe series", "metrics: {probe_series: some}", `metrics.probe_series ("some") must be auto, all or essential`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), t.TempDir())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
	d := MetricsConfig{}.withDefaults()
	if d.Window != 15*time.Minute || d.Refresh != time.Minute || len(d.Levels) != 3 || d.ServiceLevel != 2 || d.ProbeSeries != ProbeSeriesAuto {
		t.Errorf("defaults: %+v", d)
	}
	if none := (MetricsConfig{Levels: []int{}}).withDefaults(); len(none.Levels) != 0 {
		t.Errorf("an explicit empty list became %v", none.Levels)
	}
}

// TestRegionMetricsKeptForRefresh: the coverage figures are computed once
// per metrics.refresh, whoever scrapes; results that arrive in between
// show at the first scrape after it.
func TestRegionMetricsKeptForRefresh(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Metrics = MetricsConfig{Refresh: time.Minute} })
	feedViews(t, f) // 20 results from west, 20 from east
	const west = "jangkau_region_samples{code=99.01.01,level=3,name=Barat}"
	const computed = "jangkau_coverage_computed_timestamp_seconds{}"
	got := series(t, f)
	if got[west] != 20 || got[computed] != float64(f.now.Unix()) {
		t.Fatalf("first scrape: %s = %g, %s = %g; want 20 and %d", west, got[west], computed, got[computed], f.now.Unix())
	}
	more := results(21, 10, f.now, true, 12)
	if code, _, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: more})); code != 200 {
		t.Fatalf("ingest: %d %s", code, raw)
	}
	f.now = f.now.Add(59 * time.Second)
	for range 3 {
		if got := series(t, f); got[west] != 20 || got[computed] != float64(f.now.Add(-59*time.Second).Unix()) {
			t.Fatalf("within the refresh: %s = %g, computed at %g; want the kept 20 of %d", west, got[west], got[computed], f.now.Add(-59*time.Second).Unix())
		}
	}
	// Twice the refresh later a scrape waits for the new figures.
	f.now = f.now.Add(61 * time.Second)
	if got := series(t, f); got[west] != 30 || got[computed] != float64(f.now.Unix()) {
		t.Errorf("after the refresh: %s = %g, computed at %g; want 30 at %d", west, got[west], got[computed], f.now.Unix())
	}
}

// TestRegionMetricsOneComputationForConcurrentScrapes: scrapes that find
// the figures stale at once start one computation, and all serve it.
func TestRegionMetricsOneComputationForConcurrentScrapes(t *testing.T) {
	f := newFixture(t, nil)
	feedViews(t, f)
	rc := newRegionCollector(f.srv)
	var wg sync.WaitGroup
	figs := make([]*regionFigures, 8)
	for i := range figs {
		wg.Go(func() { figs[i] = rc.figures() })
	}
	wg.Wait()
	for i, fg := range figs {
		if fg == nil || fg != figs[0] {
			t.Fatalf("scrape %d served figures %p, scrape 0 %p: want one computation for all", i, fg, figs[0])
		}
	}
	if len(figs[0].metrics) == 0 || figs[0].err != nil {
		t.Errorf("the computation gave %d series, err %v", len(figs[0].metrics), figs[0].err)
	}
}

// TestProbeSeries: metrics.probe_series "essential" keeps the per-probe
// series the dashboards and alerts read and an ingest counter once it
// counts; "auto" is "all" up to AutoProbeSeriesMax probes.
func TestProbeSeries(t *testing.T) {
	essential := []string{"jangkau_probe_info", "jangkau_probe_last_seen_timestamp_seconds", "jangkau_probe_results_lost_total",
		"jangkau_probe_clock_offset_seconds"}
	rest := []string{"jangkau_probe_acked_seq", "jangkau_probe_results_stored_total", "jangkau_probe_results_unspooled_total",
		"jangkau_probe_spool_epochs_total", "jangkau_ingest_throttled_total", "jangkau_ingest_names_folded_total",
		"jangkau_ingest_spool_epochs_total", "jangkau_ingest_sender_conflicts_total"}
	many := func(c *Config) {
		for i := len(c.Probes); i <= AutoProbeSeriesMax; i++ {
			c.Probes = append(c.Probes, ProbeConfig{ID: fmt.Sprintf("p%04d", i), TokenSHA256: hash(fmt.Sprint("tok-", i)), Region: "99.01.02"})
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		all    bool
	}{
		{"auto, 2 probes", nil, true},
		{"essential", func(c *Config) { c.Metrics.ProbeSeries = ProbeSeriesEssential }, false},
		{"auto, 1,001 probes", many, false},
		{"all, 1,001 probes", func(c *Config) { many(c); c.Metrics.ProbeSeries = ProbeSeriesAll }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.Limits.ProbeRequestsPerSecond, c.Limits.ProbeBurst = 0.001, 1
				if tc.mutate != nil {
					tc.mutate(c)
				}
			})
			body := gz(t, wire.Batch{Probe: "west", SentAt: f.now, Results: results(1, 3, f.now, true, 10)})
			if code, _, raw := f.post("tok-west", body); code != 200 {
				t.Fatalf("ingest: %d %s", code, raw)
			}
			if code, _, _ := f.post("tok-west", body); code != 429 {
				t.Fatalf("second request: %d, want 429 (burst 1)", code)
			}
			perProbe := map[string]int{} // name → probes with the series
			for _, mf := range gathered(t, f) {
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "probe" {
							perProbe[mf.GetName()]++
						}
					}
				}
			}
			for _, name := range essential {
				if perProbe[name] == 0 {
					t.Errorf("no %s", name)
				}
			}
			if perProbe["jangkau_ingest_throttled_total"] == 0 {
				t.Errorf("no jangkau_ingest_throttled_total for the throttled probe")
			}
			probes := len(f.srv.cfg.Probes)
			for _, name := range rest {
				switch n := perProbe[name]; {
				case tc.all && n == 0:
					t.Errorf("%s missing with every per-probe series", name)
				case !tc.all && name == "jangkau_ingest_throttled_total" && n != 1:
					t.Errorf("%s for %d probes, want the one throttled", name, n)
				case !tc.all && name != "jangkau_ingest_throttled_total" && n > 0:
					t.Errorf("%s for %d of %d probes with the essential series only", name, n, probes)
				}
			}
		})
	}
}
