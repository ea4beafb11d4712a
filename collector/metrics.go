package collector

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
)

// metrics are the collector's own, on an injected registry; the coverage
// series per region and e-service are in regionmetrics.go. The probes do
// not report their spool backlog to the collector, so it has no backlog
// series: the probe's own jangkau_probe_spool_results is the figure.
type metrics struct {
	ingestRequests  *prometheus.CounterVec
	ingestResults   *prometheus.CounterVec
	ingestDuration  prometheus.Histogram
	ingestThrottled *prometheus.CounterVec
	storeErrors     prometheus.Counter
	namesFolded     *prometheus.CounterVec
	panics          prometheus.Counter
	epochs          *prometheus.CounterVec // ingest_epoch.go
	senderConflicts *prometheus.CounterVec
	regions         *regionCollector
}

func newMetrics(reg prometheus.Registerer, s *Server) *metrics {
	m := &metrics{
		ingestRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_ingest_requests_total",
			Help: "Ingest requests by HTTP status code.",
		}, []string{"code"}),
		ingestResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_ingest_results_total",
			Help: "Results received, by outcome: stored, duplicate or rejected.",
		}, []string{"outcome"}),
		ingestDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jangkau_ingest_request_duration_seconds",
			Help:    "Time to handle an ingest request, store commit included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
		}),
		ingestThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_ingest_throttled_total",
			Help: "Ingest requests refused with 429 because the probe exceeded its request rate.",
		}, []string{"probe"}),
		namesFolded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_ingest_names_folded_total",
			Help: "Check and e-service names of results stored as \"other\" because the probe had sent limits.max_unknown_names_per_probe names the catalogue does not have.",
		}, []string{"probe"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jangkau_http_panics_total",
			Help: "HTTP handlers that panicked, answered 500 (or broken off when the answer had begun).",
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jangkau_store_errors_total",
			Help: "Store operations that failed.",
		}),
		epochs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_ingest_spool_epochs_total",
			Help: "New seq spaces a probe started since the collector started: its spool was lost, deleted or replaced.",
		}, []string{"probe"}),
		senderConflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_ingest_sender_conflicts_total",
			Help: "Batches that show two senders behind one probe id (a cloned probe), by reason: former_epoch " +
				"(a spool epoch the probe already left; refused 409), seq_content (results at seqs that hold other results of the probe; refused 409) " +
				"or former_boot (a boot id that came back after another; stored).",
		}, []string{"probe", "reason"}),
		regions: newRegionCollector(s),
	}
	for _, o := range []string{"stored", "duplicate", "rejected"} {
		m.ingestResults.WithLabelValues(o)
	}
	// With every per-probe series, each probe's ingest counters are there
	// at 0 from the start; with the essential ones, once they count.
	all := s.cfg.Metrics.allProbeSeries(len(s.cfg.Probes))
	if all {
		for _, p := range s.cfg.Probes {
			m.ingestThrottled.WithLabelValues(p.ID)
			m.namesFolded.WithLabelValues(p.ID)
			m.epochs.WithLabelValues(p.ID)
			for _, reason := range []string{conflictEpoch, conflictSeq, conflictBoot} {
				m.senderConflicts.WithLabelValues(p.ID, reason)
			}
		}
	}
	shapeBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "jangkau_tile_shapes_bytes",
		Help: "Memory the vector tiles' region borders kept between requests hold, by estimate (bounded by tiles.shape_cache_bytes).",
	}, func() float64 { return float64(s.shapes.Bytes()) })
	shapeTiles := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "jangkau_tile_shapes",
		Help: "Tiles (of one region level each) whose region borders are kept between requests.",
	}, func() float64 { return float64(s.shapes.Tiles()) })
	reg.MustRegister(shapeBytes, shapeTiles)
	reg.MustRegister(m.ingestRequests, m.ingestResults, m.ingestDuration, m.ingestThrottled,
		m.storeErrors, m.namesFolded, m.panics, m.epochs, m.senderConflicts, s.clock, probeCollector{s, all}, m.regions,
		versioncollector.NewCollector("jangkau")) // jangkau_build_info
	return m
}

var (
	descLastSeen = prometheus.NewDesc("jangkau_probe_last_seen_timestamp_seconds",
		"When the collector last stored a result of the probe.", []string{"probe", "region"}, nil)
	descAcked = prometheus.NewDesc("jangkau_probe_acked_seq",
		"Highest seq of the probe with every seq up to it settled.", []string{"probe", "region"}, nil)
	descStored = prometheus.NewDesc("jangkau_probe_results_stored_total",
		"Results of the probe stored, each (probe, seq) once.", []string{"probe", "region"}, nil)
	descLost = prometheus.NewDesc("jangkau_probe_results_lost_total",
		"Results of the probe never stored: seqs it dropped before they were stored (spool bound, a lost spool's unacknowledged seqs) and results it reported dropped before they got a seq.", []string{"probe", "region"}, nil)
	descDropped = prometheus.NewDesc("jangkau_probe_results_unspooled_total",
		"Part of jangkau_probe_results_lost_total the probe reported as dropped before they got a seq (its spool's queue or disk was full).", []string{"probe", "region"}, nil)
	descEpochs = prometheus.NewDesc("jangkau_probe_spool_epochs_total",
		"Seq spaces the probe started after its first: its spool was lost, deleted or replaced.", []string{"probe", "region"}, nil)
	// descInfo carries what the config says of a probe, for dashboards to
	// join on probe and to place markers (lat and lon are "" when the probe
	// has no fixed location).
	descInfo = prometheus.NewDesc("jangkau_probe_info",
		"Always 1; the labels say where the probe stands and its uplink's carrier.",
		[]string{"probe", "region", "carrier", "lat", "lon"}, nil)
)

// probeCollector reads per-probe figures from the store at scrape time, so
// they are exact and survive restarts. Without all, it exports only the
// series the dashboards and alerts read (metrics.probe_series).
type probeCollector struct {
	s   *Server
	all bool
}

func (c probeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLastSeen, descAcked, descStored, descLost, descDropped, descEpochs, descInfo} {
		ch <- d
	}
}

func (c probeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.s.probes.list {
		lat, lon := "", ""
		if l := p.Location; l != nil {
			lat, lon = strconv.FormatFloat(l.Lat, 'f', -1, 64), strconv.FormatFloat(l.Lon, 'f', -1, 64)
		}
		ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, p.ID, p.Region, p.Carrier, lat, lon)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	states, err := c.s.store.Probes(ctx)
	if err != nil {
		c.s.log.Error("metrics: read probes", "err", err)
		return
	}
	for _, st := range states {
		p := c.s.probes.byID[st.ID]
		if p == nil {
			continue
		}
		if !st.LastSeen.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSeen, prometheus.GaugeValue, float64(st.LastSeen.UnixMilli())/1e3, p.ID, p.Region)
		}
		ch <- prometheus.MustNewConstMetric(descLost, prometheus.CounterValue, float64(st.Lost), p.ID, p.Region)
		if !c.all {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descAcked, prometheus.GaugeValue, float64(st.AckedSeq), p.ID, p.Region)
		ch <- prometheus.MustNewConstMetric(descStored, prometheus.CounterValue, float64(st.ResultsStored), p.ID, p.Region)
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(st.Dropped), p.ID, p.Region)
		ch <- prometheus.MustNewConstMetric(descEpochs, prometheus.CounterValue, float64(st.Epochs), p.ID, p.Region)
	}
}

// Panicked logs and counts a handler's panic (httpapi.Recover) before its
// 500. The stack goes to the log, never to the client.
func (s *Server) Panicked(r *http.Request, v any, stack []byte) {
	s.metrics.panics.Inc()
	s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(stack))
}
