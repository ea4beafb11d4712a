package collector

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/rollup"
)

// MetricsConfig bounds the per-region series the collector exports (key
// metrics:). Each series costs Prometheus memory for as long as it is
// scraped, so the default stops at the kecamatan: about 10 series per
// region and level. The desa level (4), with thousands of regions in a
// province, is exported only when listed.
//
// A zero field means its default, so a Config built in code works.
type MetricsConfig struct {
	// Window is the span the coverage figures are computed over at each
	// scrape, ending at the scrape (default 15m, as the map's).
	Window time.Duration `yaml:"window"`
	// Levels are the region levels exported (default [1, 2, 3]). An
	// explicit empty list exports no region series. A level the region
	// file does not have is skipped.
	Levels []int `yaml:"levels"`
	// ServiceLevel is the region level of the e-service × region series
	// (default 2, kabupaten/kota; the deepest level when the regions stop
	// above it).
	ServiceLevel int `yaml:"service_level"`
}

// DefaultMetricsConfig holds the defaults above.
var DefaultMetricsConfig = MetricsConfig{Window: 15 * time.Minute, Levels: []int{1, 2, 3}, ServiceLevel: 2}

// maxRegionLevel is the deepest Kemendagri level (desa/kelurahan).
const maxRegionLevel = 4

func (c *MetricsConfig) validate() error {
	if c.Window != 0 && (c.Window < time.Minute || c.Window > 24*time.Hour) {
		return fmt.Errorf("metrics.window (%s) must be between 1m and 24h", c.Window)
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
	return nil
}

// withDefaults fills the zero fields.
func (c MetricsConfig) withDefaults() MetricsConfig {
	if c.Window == 0 {
		c.Window = DefaultMetricsConfig.Window
	}
	if c.Levels == nil {
		c.Levels = DefaultMetricsConfig.Levels
	}
	if c.ServiceLevel == 0 {
		c.ServiceLevel = DefaultMetricsConfig.ServiceLevel
	}
	return c
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
		"Whether the coverage figures of this scrape could be computed (1) or the store failed (0).", nil, nil)
	descCoverageDuration = prometheus.NewDesc("jangkau_coverage_scrape_duration_seconds",
		"How long computing the coverage figures of this scrape took.", nil, nil)
)

// outageRecent is how far back an outage bucket still counts as ongoing: the
// minute being filled is partial, so the last complete minute decides.
const outageRecent = 2 * time.Minute

// regionCollector computes coverage from the engine at scrape time, over
// the configured window, so the figures are what the map shows at that
// moment and nothing is kept between scrapes.
type regionCollector struct {
	s       *Server
	cfg     MetricsConfig
	levels  []int // configured levels the regions have
	svLevel int   // 0: no e-service series
}

func newRegionCollector(s *Server) *regionCollector {
	c := &regionCollector{s: s, cfg: s.cfg.Metrics.withDefaults()}
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
		descServiceAvailability, descServiceLatency, descServiceOutage, descCoverageUp, descCoverageDuration} {
		ch <- d
	}
}

func (c *regionCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.collect(ctx, ch)
	if err != nil {
		c.s.log.Error("metrics: coverage", "err", err)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descCoverageUp, b2f(err == nil))
	gauge(descCoverageDuration, time.Since(start).Seconds())
}

func (c *regionCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	now := c.s.Now()
	q := httpapi.View{Query: coverage.Query{From: now.Add(-c.cfg.Window), To: now, Now: now}}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, level := range c.levels {
		q.Level = level
		cells, err := c.s.RegionCells(ctx, q)
		if err != nil {
			return err
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
		return nil
	}
	v, err := c.s.engine.Services(ctx, c.s.feed, c.svLevel, q.Query)
	if err != nil {
		return err
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
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
