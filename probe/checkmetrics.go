package probe

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpPhases are the phases of probe_http_duration_seconds, as
// blackbox_exporter names them; an http result sets all of them (0 for a
// phase the run did not reach), as blackbox does.
var httpPhases = []string{"resolve", "connect", "tls", "processing", "transfer"}

// resultGauges hold the latest result of every check under
// blackbox_exporter's names, so that its dashboards and alerts work on a
// jangkau probe. Where blackbox has no name (multi-packet ICMP), the names
// of Grafana's synthetic-monitoring-agent (blackbox-derived, pro-bing like
// us) are used:
//
//	probe_success{check,kind,target}             1 or 0
//	probe_duration_seconds{check,kind,target}    the whole run
//	probe_http_duration_seconds{check,phase}     resolve connect tls processing transfer
//	probe_http_status_code{check}                0 when no answer
//	probe_ssl_earliest_cert_expiry{check}        Unix time, from phases.cert_expiry_days
//	probe_icmp_duration_seconds{check,phase="rtt"}  mean round trip (phases.rtt_avg)
//	probe_icmp_duration_rtt_{min,max,stddev}_seconds{check}
//	probe_icmp_packets_{sent,received}_count{check}
//	probe_dns_lookup_time_seconds{check}         phases.lookup, else the run
//
// When a check's kind or target changes, its old series are deleted.
type resultGauges struct {
	success, duration                  *prometheus.GaugeVec
	httpPhase, httpStatus, certExpiry  *prometheus.GaugeVec
	icmpRTT, icmpMin, icmpMax, icmpStd *prometheus.GaugeVec
	icmpSent, icmpReceived, dnsLookup  *prometheus.GaugeVec

	mu     sync.Mutex
	labels map[string][2]string // check → kind, target of its series
}

func newResultGauges() *resultGauges {
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append([]string{"check"}, labels...))
	}
	return &resultGauges{
		success:      g("probe_success", "Whether the check's latest run succeeded.", "kind", "target"),
		duration:     g("probe_duration_seconds", "How long the check's latest run took.", "kind", "target"),
		httpPhase:    g("probe_http_duration_seconds", "Duration of each phase of the latest http run.", "phase"),
		httpStatus:   g("probe_http_status_code", "HTTP status of the latest http run; 0 without an answer."),
		certExpiry:   g("probe_ssl_earliest_cert_expiry", "When the target's certificate expires, as a Unix time."),
		icmpRTT:      g("probe_icmp_duration_seconds", "Mean round trip of the latest icmp run (phase rtt).", "phase"),
		icmpMin:      g("probe_icmp_duration_rtt_min_seconds", "Shortest round trip of the latest icmp run."),
		icmpMax:      g("probe_icmp_duration_rtt_max_seconds", "Longest round trip of the latest icmp run."),
		icmpStd:      g("probe_icmp_duration_rtt_stddev_seconds", "Standard deviation of the round trips of the latest icmp run."),
		icmpSent:     g("probe_icmp_packets_sent_count", "Echo requests sent by the latest icmp run."),
		icmpReceived: g("probe_icmp_packets_received_count", "Echo replies received by the latest icmp run."),
		dnsLookup:    g("probe_dns_lookup_time_seconds", "How long the latest dns lookup took."),
		labels:       map[string][2]string{},
	}
}

func (g *resultGauges) vecs() []*prometheus.GaugeVec {
	return []*prometheus.GaugeVec{g.success, g.duration, g.httpPhase, g.httpStatus, g.certExpiry,
		g.icmpRTT, g.icmpMin, g.icmpMax, g.icmpStd, g.icmpSent, g.icmpReceived, g.dnsLookup}
}

func (g *resultGauges) collectors() []prometheus.Collector {
	var cs []prometheus.Collector
	for _, v := range g.vecs() {
		cs = append(cs, v)
	}
	return cs
}

// set records r as its check's latest result.
func (g *resultGauges) set(r Result) {
	g.forget(r)
	g.success.WithLabelValues(r.Check, r.Kind, r.Target).Set(b2f(r.OK))
	g.duration.WithLabelValues(r.Check, r.Kind, r.Target).Set(r.DurationMS / 1e3)
	if days, ok := r.Phases["cert_expiry_days"]; ok {
		exp := r.Time.Add(time.Duration(days * float64(24*time.Hour)))
		g.certExpiry.WithLabelValues(r.Check).Set(float64(exp.Unix()))
	}
	secs := func(phase string) float64 { return r.Phases[phase] / 1e3 }
	switch r.Kind {
	case KindHTTP:
		for _, p := range httpPhases {
			g.httpPhase.WithLabelValues(r.Check, p).Set(secs(p))
		}
		g.httpStatus.WithLabelValues(r.Check).Set(float64(r.StatusCode))
	case KindICMP:
		g.icmpRTT.WithLabelValues(r.Check, "rtt").Set(secs("rtt_avg"))
		g.icmpMin.WithLabelValues(r.Check).Set(secs("rtt_min"))
		g.icmpMax.WithLabelValues(r.Check).Set(secs("rtt_max"))
		g.icmpStd.WithLabelValues(r.Check).Set(secs("rtt_stddev"))
		g.icmpSent.WithLabelValues(r.Check).Set(r.Phases["sent"])
		g.icmpReceived.WithLabelValues(r.Check).Set(r.Phases["received"])
	case KindDNS:
		lookup, ok := r.Phases["lookup"]
		if !ok {
			lookup = r.DurationMS
		}
		g.dnsLookup.WithLabelValues(r.Check).Set(lookup / 1e3)
	}
}

// forget deletes the series of r's check when its kind or target changed
// (a catalogue update), so that no stale target keeps reporting.
func (g *resultGauges) forget(r Result) {
	now := [2]string{r.Kind, r.Target}
	g.mu.Lock()
	old, seen := g.labels[r.Check]
	g.labels[r.Check] = now
	g.mu.Unlock()
	if !seen || old == now {
		return
	}
	for _, v := range g.vecs() {
		v.DeletePartialMatch(prometheus.Labels{"check": r.Check})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
