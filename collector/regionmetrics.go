package collector

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/rollup"
)

// MetricsConfig bounds the per-region and per-probe series the collector
// exports (key metrics:). Each series costs Prometheus memory for as long
// as it is scraped, so the default stops at the kecamatan: about 10 series
// per region and level. The desa level (4), with thousands of regions in a
// province, is exported only when listed.
//
// A zero field means its default, so a Config built in code works.
type MetricsConfig struct {
	// Window is the span the coverage figures are computed over, ending
	// when they are computed (default 15m, as the map's).
	Window time.Duration `yaml:"window"`
	// Refresh is how long computed coverage figures are served before a
	// scrape computes them again (default 1m, the rollups' finest bucket;
	// at most the window). Scrapes in between cost no coverage work, and
	// a scrape that finds them older starts the computation and serves the
	// kept figures while it runs, unless they are older than twice Refresh.
	Refresh time.Duration `yaml:"refresh"`
	// Levels are the region levels exported (default [1, 2, 3]). An
	// explicit empty list exports no region series. A level the region
	// file does not have is skipped.
	Levels []int `yaml:"levels"`
	// ServiceLevel is the region level of the e-service × region series
	// (default 2, kabupaten/kota; the deepest level when the regions stop
	// above it).
	ServiceLevel int `yaml:"service_level"`
	// ProbeSeries says which per-probe series are exported: "all" (every
	// one, 14 per probe, the ingest counters of each probe at 0 from the
	// start), "essential" (the four the dashboards and the alerts read:
	// jangkau_probe_info, _last_seen_timestamp_seconds,
	// _results_lost_total and _clock_offset_seconds, and an ingest counter
	// of a probe once it is not 0), or "auto" (the default: all up to
	// AutoProbeSeriesMax probes, essential above).
	ProbeSeries string `yaml:"probe_series"`
}

// Values of MetricsConfig.ProbeSeries.
const (
	ProbeSeriesAuto      = "auto"
	ProbeSeriesAll       = "all"
	ProbeSeriesEssential = "essential"
)

// AutoProbeSeriesMax is the most probes for which probe_series "auto"
// exports all per-probe series.
const AutoProbeSeriesMax = 1000

// DefaultMetricsConfig holds the defaults above.
var DefaultMetricsConfig = MetricsConfig{Window: 15 * time.Minute, Refresh: time.Minute, Levels: []int{1, 2, 3}, ServiceLevel: 2,
	ProbeSeries: ProbeSeriesAuto}

// maxRegionLevel is the deepest Kemendagri level (desa/kelurahan).
const maxRegionLevel = 4

func (c *MetricsConfig) validate() error {
	if c.Window != 0 && (c.Window < time.Minute || c.Window > 24*time.Hour) {
		return fmt.Errorf("metrics.window (%s) must be between 1m and 24h", c.Window)
	}
	if window := cmp.Or(c.Window, DefaultMetricsConfig.Window); c.Refresh != 0 && (c.Refresh < time.Second || c.Refresh > window) {
		return fmt.Errorf("metrics.refresh (%s) must be between 1s and metrics.window (%s)", c.Refresh, window)
	}
	for i, l := range c.Levels {
		if l < 1 || l > maxRegionLevel {
			return fmt.Errorf("metrics.levels[%d] (%d) must be within 1..%d", i, l, maxRegionLevel)
		}
		if j := slices.Index(c.Levels, l); j < i {
			return fmt.Errorf("metrics.levels[%d] (%d) is already metrics.levels[%d]", i, l, j)
		}
	}
	if c.ServiceLevel < 0 || c.ServiceLevel > maxRegionLevel {
		return fmt.Errorf("metrics.service_level (%d) must be within 1..%d", c.ServiceLevel, maxRegionLevel)
	}
	switch c.ProbeSeries {
	case "", ProbeSeriesAuto, ProbeSeriesAll, ProbeSeriesEssential:
	default:
		return fmt.Errorf("metrics.probe_series (%q) must be auto, all or essential", c.ProbeSeries)
	}
	return nil
}

// withDefaults fills the zero fields.
func (c MetricsConfig) withDefaults() MetricsConfig {
	if c.Window == 0 {
		c.Window = DefaultMetricsConfig.Window
	}
	if c.Refresh == 0 {
		c.Refresh = min(DefaultMetricsConfig.Refresh, c.Window)
	}
	if c.Levels == nil {
		c.Levels = DefaultMetricsConfig.Levels
	}
	if c.ServiceLevel == 0 {
		c.ServiceLevel = DefaultMetricsConfig.ServiceLevel
	}
	if c.ProbeSeries == "" {
		c.ProbeSeries = DefaultMetricsConfig.ProbeSeries
	}
	return c
}

// allProbeSeries says whether every per-probe series is exported for
// probes configured probes.
func (c MetricsConfig) allProbeSeries(probes int) bool {
	switch c.withDefaults().ProbeSeries {
	case ProbeSeriesAll:
		return true
	case ProbeSeriesEssential:
		return false
	}
	return probes <= AutoProbeSeriesMax
}

var (
	regionLabels    = []string{"level", "code", "name"}
	descAvailablity = prometheus.NewDesc("jangkau_region_availability_ratio",
		"Share of successful checks measured in the region over the metrics window; absent without samples.", regionLabels, nil)
	descLatency = prometheus.NewDesc("jangkau_region_latency_seconds",
		"Duration of successful checks in the region over the metrics window at percentile 50 and 95: a gauge per percentile, not a summary (the figures are exact over the window, with no count or sum, and a gauge may not carry a quantile label); absent without successes.",
		append(slices.Clone(regionLabels), "percentile"), nil)
	descStatus = prometheus.NewDesc("jangkau_region_status",
		"The region's status over the metrics window, one-hot: 1 for the current status, 0 for the others.",
		[]string{"level", "code", "status"}, nil)
	descAffected = prometheus.NewDesc("jangkau_region_people_affected",
		"Population of the deepest regions inside this one that are blank or silent (0 where population is unknown).", regionLabels, nil)
	descSamples = prometheus.NewDesc("jangkau_region_samples",
		"Check results measured in the region over the metrics window.", regionLabels, nil)
	descServiceAvailability = prometheus.NewDesc("jangkau_service_availability_ratio",
		"Share of successful checks of the e-service from the region over the metrics window (service outages included).",
		[]string{"service", "level", "code"}, nil)
	descServiceLatency = prometheus.NewDesc("jangkau_service_latency_seconds",
		"95th percentile duration of successful checks of the e-service from the region over the metrics window.",
		[]string{"service", "level", "code", "percentile"}, nil)
	descServiceOutage = prometheus.NewDesc("jangkau_service_outage",
		"1 while the e-service fails from most of the regions that check it (status.outage_share of at least status.outage_min_regions) in the last complete minute, else 0.",
		[]string{"service"}, nil)
	descCoverageUp = prometheus.NewDesc("jangkau_coverage_scrape_success",
		"Whether the coverage figures served could be computed (1) or the store failed (0).", nil, nil)
	descCoverageDuration = prometheus.NewDesc("jangkau_coverage_scrape_duration_seconds",
		"How long computing the coverage figures served took.", nil, nil)
	descCoverageComputed = prometheus.NewDesc("jangkau_coverage_computed_timestamp_seconds",
		"When the coverage figures served were computed: the end of their metrics.window (they are kept for metrics.refresh).", nil, nil)
)

// outageRecent is how far back an outage bucket still counts as ongoing: the
// minute being filled is partial, so the last complete minute decides.
const outageRecent = 2 * time.Minute

// regionCollector serves coverage from the engine over the configured
// window, computed at most once per metrics.refresh: a scrape that finds
// the kept figures older starts one computation (a single one at a time,
// whoever scrapes) and waits for it up to regionWait, then serves the
// newest figures there are. Figures older than twice the refresh are
// waited for until the computation ends or regionWaitStale passes, so a
// collector scraped seldom still answers what the map shows.
type regionCollector struct {
	s       *Server
	cfg     MetricsConfig
	levels  []int // configured levels the regions have
	svLevel int   // 0: no e-service series

	ctx    context.Context // ended by stop
	cancel context.CancelFunc

	mu      sync.Mutex
	kept    *regionFigures // the newest computed; nil before the first
	running chan struct{}  // closed when the computation under way ends; nil when none runs
}

// regionFigures are the series of one computation.
type regionFigures struct {
	metrics []prometheus.Metric
	at      time.Time // the collector's clock at its start: the window's end
	took    time.Duration
	err     error
}

// How long a scrape waits for a computation: briefly while kept figures
// are recent, longer when they are stale or missing, always well within
// Prometheus's default scrape timeout (10 s).
const (
	regionWait      = 500 * time.Millisecond
	regionWaitStale = 2 * time.Second
	// regionTimeout bounds one computation; a cold one at country scale
	// reads every rollup of the window.
	regionTimeout = 2 * time.Minute
)

func newRegionCollector(s *Server) *regionCollector {
	c := &regionCollector{s: s, cfg: s.cfg.Metrics.withDefaults()}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for _, l := range c.cfg.Levels {
		if s.regions.Level(l) == nil {
			s.log.Warn("metrics.levels: the regions have no such level; skipped", "level", l, "levels", s.regions.Levels())
			continue
		}
		c.levels = append(c.levels, l)
	}
	if len(c.s.regions.Levels()) > 0 {
		c.svLevel = min(c.cfg.ServiceLevel, s.regions.Deepest())
		if s.regions.Level(c.svLevel) == nil {
			c.svLevel = 0
		}
	}
	return c
}

func (c *regionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAvailablity, descLatency, descStatus, descAffected, descSamples,
		descServiceAvailability, descServiceLatency, descServiceOutage, descCoverageUp, descCoverageDuration, descCoverageComputed} {
		ch <- d
	}
}

func (c *regionCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.figures()
	if f == nil {
		return // the first computation is still under way
	}
	for _, m := range f.metrics {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(descCoverageUp, prometheus.GaugeValue, b2f(f.err == nil))
	ch <- prometheus.MustNewConstMetric(descCoverageDuration, prometheus.GaugeValue, f.took.Seconds())
	ch <- prometheus.MustNewConstMetric(descCoverageComputed, prometheus.GaugeValue, float64(f.at.UnixMilli())/1e3)
}

// figures returns the figures a scrape serves, starting a computation
// when the kept ones are older than the refresh.
func (c *regionCollector) figures() *regionFigures {
	now := c.s.Now()
	c.mu.Lock()
	kept := c.kept
	age := time.Duration(-1)
	if kept != nil {
		age = now.Sub(kept.at)
	}
	if age >= 0 && age < c.cfg.Refresh {
		c.mu.Unlock()
		return kept
	}
	done := c.running
	if done == nil {
		done = make(chan struct{})
		c.running = done
		go c.compute(now, done)
	}
	c.mu.Unlock()
	wait := regionWait
	if age < 0 || age >= 2*c.cfg.Refresh {
		wait = regionWaitStale
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.kept
	case <-t.C:
		return kept
	}
}

// stop ends a computation under way and waits for it: the store closes
// after the server stops.
func (c *regionCollector) stop() {
	c.cancel()
	c.idle()
}

// idle waits until no computation runs.
func (c *regionCollector) idle() {
	c.mu.Lock()
	done := c.running
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}

// compute computes the figures at now, keeps them and closes done.
func (c *regionCollector) compute(now time.Time, done chan struct{}) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(c.ctx, regionTimeout)
	defer cancel()
	ms, err := c.collect(ctx, now)
	if err != nil && c.ctx.Err() == nil {
		c.s.log.Error("metrics: coverage", "err", err)
	}
	f := &regionFigures{metrics: ms, at: now, took: time.Since(start), err: err}
	c.mu.Lock()
	if c.kept == nil || !f.at.Before(c.kept.at) {
		c.kept = f
	}
	c.running = nil
	c.mu.Unlock()
	close(done)
}

// collect computes the coverage series over the window that ends at now.
// On a store error it returns the series computed before it.
func (c *regionCollector) collect(ctx context.Context, now time.Time) (ms []prometheus.Metric, err error) {
	q := httpapi.View{Query: coverage.Query{From: now.Add(-c.cfg.Window), To: now, Now: now}}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ms = append(ms, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	for _, level := range c.levels {
		q.Level = level
		cells, err := c.s.RegionCells(ctx, q)
		if err != nil {
			return ms, err
		}
		lv := strconv.Itoa(level)
		for _, cell := range cells {
			code, name := cell.Region.Code, cell.Region.Name
			if !math.IsNaN(cell.Availability) {
				gauge(descAvailablity, cell.Availability, lv, code, name)
			}
			for _, qv := range []struct {
				q  string
				ms float64
			}{{"50", cell.P50}, {"95", cell.P95}} {
				if !math.IsNaN(qv.ms) {
					gauge(descLatency, qv.ms/1e3, lv, code, name, qv.q)
				}
			}
			for _, st := range coverage.Statuses {
				gauge(descStatus, b2f(cell.Status == st), lv, code, string(st))
			}
			gauge(descAffected, float64(cell.PeopleAffected), lv, code, name)
			gauge(descSamples, float64(cell.Samples), lv, code, name)
		}
	}
	if c.svLevel == 0 {
		return ms, nil
	}
	v, err := c.s.engine.Services(ctx, c.s.feed, c.svLevel, q.Query)
	if err != nil {
		return ms, err
	}
	lv := strconv.Itoa(c.svLevel)
	for _, cell := range v.Cells {
		if cell.Service == rollup.Uplink {
			continue // the uplink is what the region series measure
		}
		if !math.IsNaN(cell.Availability) {
			gauge(descServiceAvailability, cell.Availability, cell.Service, lv, cell.Region)
		}
		if !math.IsNaN(cell.P95) {
			gauge(descServiceLatency, cell.P95/1e3, cell.Service, lv, cell.Region, "95")
		}
	}
	down := map[string]bool{}
	for _, o := range v.Outages {
		if !o.To.Before(now.Add(-outageRecent)) {
			down[o.Service] = true
		}
	}
	for _, s := range v.Services {
		if s != rollup.Uplink {
			gauge(descServiceOutage, b2f(down[s]), s)
		}
	}
	return ms, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
