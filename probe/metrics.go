package probe

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics is the probe's own health, registered on the injected registry.
// A nil *metrics counts nothing, so that components work without one.
type metrics struct {
	checks      *prometheus.CounterVec
	failures    *prometheus.CounterVec
	spoolErrors prometheus.Counter
	ackedSeq    prometheus.Gauge
	uploads     *prometheus.CounterVec
	lastUpload  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, spool *Spool) (*metrics, error) {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_probe_checks_total",
			Help: "Check runs, by check, kind and result (success or failure).",
		}, []string{"check", "kind", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_probe_check_failures_total",
			Help: "Failed check runs, by check and error class.",
		}, []string{"check", "class"}),
		spoolErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jangkau_probe_spool_errors_total",
			Help: "Results lost because the spool could not store them.",
		}),
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
	}
	spoolLen := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "jangkau_probe_spool_results",
		Help: "Results on disk waiting for the collector's acknowledgement.",
	}, func() float64 { return float64(spool.Len()) })
	var errs []error
	for _, c := range []prometheus.Collector{m.checks, m.failures, m.spoolErrors, m.ackedSeq, m.uploads, m.lastUpload, spoolLen} {
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

func (m *metrics) result(r Result) {
	if m == nil {
		return
	}
	if r.OK {
		m.checks.WithLabelValues(r.Check, r.Kind, "success").Inc()
		return
	}
	m.checks.WithLabelValues(r.Check, r.Kind, "failure").Inc()
	m.failures.WithLabelValues(r.Check, r.ErrorClass).Inc()
}

func (m *metrics) spoolError() {
	if m != nil {
		m.spoolErrors.Inc()
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

// serveMetrics serves /metrics on cfg.MetricsListen until ctx ends.
// TODO(issue 3).
func (p *Probe) serveMetrics(ctx context.Context) {}
