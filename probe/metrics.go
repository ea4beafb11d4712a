package probe

import (
	"errors"
	"time"

	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
)

// metrics is the probe's own health (jangkau_probe_*) and the latest
// result of every check (probe_*, see checkmetrics.go), registered on the
// injected registry. A nil *metrics counts nothing, so that components
// work without one.
type metrics struct {
	failures   *prometheus.CounterVec
	ackedSeq   prometheus.Gauge
	uploads    *prometheus.CounterVec
	lastUpload prometheus.Gauge
	drainRate  prometheus.Gauge
	results    *checkCollector // probe_* and jangkau_probe_checks_total
	// gatherer is the registry itself when it can be scraped: what
	// serveMetrics serves.
	gatherer prometheus.Gatherer
}

func newMetrics(reg prometheus.Registerer, sp *spool.Spool) (*metrics, error) {
	m := &metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_probe_check_failures_total",
			Help: "Failed check runs, by check and error class.",
		}, []string{"check", "class"}),
		ackedSeq: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jangkau_probe_upload_acked_seq",
			Help: "Highest seq the collector has acknowledged.",
		}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_probe_uploads_total",
			Help: "Batch uploads to the collector, by result (ok or error).",
		}, []string{"result"}),
		lastUpload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jangkau_probe_last_upload_success_timestamp_seconds",
			Help: "When a batch upload last succeeded, as a Unix time.",
		}),
		drainRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jangkau_probe_upload_backlog_drain_rate",
			Help: "Results per second the collector acknowledged over the last progress window (about 10 s); spool_results / this is the time to drain.",
		}),
		results: newCheckCollector(),
	}
	m.gatherer, _ = reg.(prometheus.Gatherer)
	cs := []prometheus.Collector{m.results, m.failures, m.ackedSeq, m.uploads, m.lastUpload, m.drainRate,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "jangkau_probe_spool_errors_total",
			Help: "Results lost because the spool could not store them.",
		}, func() float64 { return float64(sp.Lost()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jangkau_probe_spool_results",
			Help: "Results on disk waiting for the collector's acknowledgement.",
		}, func() float64 { return float64(sp.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jangkau_probe_spool_bytes",
			Help: "Size of the results held by the spool's size rule (JSON plus 24 B each), the figure spool.max_bytes bounds.",
		}, func() float64 { return float64(sp.Bytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jangkau_probe_spool_oldest_result_age_seconds",
			Help: "Age of the oldest result waiting for upload; 0 when none waits.",
		}, func() float64 { return sp.OldestAge() }),
	}
	for _, reason := range spool.DropReasons() {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "jangkau_probe_spool_dropped_total",
			Help:        "Results dropped unsent: the oldest when the spool is over max_bytes (size) or max_age (age), a new one when the spool's queue is full (queue_full).",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(sp.Dropped(reason)) }))
	}
	// jangkau_probe_build_info: which version each district runs.
	cs = append(cs, versioncollector.NewCollector("jangkau_probe"))
	var errs []error
	for _, c := range cs {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Show both results from the start, so that rate() sees the first one.
	m.uploads.WithLabelValues("ok")
	m.uploads.WithLabelValues("error")
	return m, nil
}

// result counts a check run and makes it the check's latest result.
func (m *metrics) result(r wire.Result) {
	if m == nil || !m.results.record(r) || r.OK {
		return
	}
	m.failures.WithLabelValues(r.Check, string(r.ErrorClass)).Inc()
}

// retain drops every series of the checks not in names, the checks
// scheduled now: a check the catalogue removed stops reporting.
func (m *metrics) retain(names []string) {
	if m == nil {
		return
	}
	for _, check := range m.results.retain(names) {
		m.failures.DeletePartialMatch(prometheus.Labels{"check": check})
	}
}

func (m *metrics) upload(ok bool) {
	if m == nil {
		return
	}
	if !ok {
		m.uploads.WithLabelValues("error").Inc()
		return
	}
	m.uploads.WithLabelValues("ok").Inc()
	m.lastUpload.Set(float64(time.Now().UnixNano()) / 1e9)
}

func (m *metrics) acked(seq uint64) {
	if m != nil {
		m.ackedSeq.Set(float64(seq))
	}
}

func (m *metrics) drained(perSecond float64) {
	if m != nil {
		m.drainRate.Set(perSecond)
	}
}
