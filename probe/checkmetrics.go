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

	// checks is jangkau_probe_checks_total, whose per-check series are
	// cached with the gauges'.
	checks *prometheus.CounterVec

	mu     sync.Mutex
	series map[string]*checkSeries // by check
}

// checkSeries are one check's series, resolved once per kind and target:
// WithLabelValues hashes its labels on every call, ten times per result.
type checkSeries struct {
	kind, target      string
	success, duration prometheus.Gauge
	// kindGauges: http: httpPhases then status; icmp: rtt, min, max,
	// stddev, sent, received; dns: lookup.
	kindGauges []prometheus.Gauge
	ok, failed prometheus.Counter
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
		series:       map[string]*checkSeries{},
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

// set records r as its check's latest result and returns its series.
func (g *resultGauges) set(r Result) *checkSeries {
	cs := g.seriesOf(r)
	cs.success.Set(b2f(r.OK))
	cs.duration.Set(r.DurationMS / 1e3)
	if days, ok := r.Phases["cert_expiry_days"]; ok {
		exp := r.Time.Add(time.Duration(days * float64(24*time.Hour)))
		g.certExpiry.WithLabelValues(r.Check).Set(float64(exp.Unix()))
	}
	secs := func(phase string) float64 { return r.Phases[phase] / 1e3 }
	k := cs.kindGauges
	switch r.Kind {
	case KindHTTP:
		for i, p := range httpPhases {
			k[i].Set(secs(p))
		}
		k[len(httpPhases)].Set(float64(r.StatusCode))
	case KindICMP:
		k[0].Set(secs("rtt_avg"))
		k[1].Set(secs("rtt_min"))
		k[2].Set(secs("rtt_max"))
		k[3].Set(secs("rtt_stddev"))
		k[4].Set(r.Phases["sent"])
		k[5].Set(r.Phases["received"])
	case KindDNS:
		lookup, ok := r.Phases["lookup"]
		if !ok {
			lookup = r.DurationMS
		}
		k[0].Set(lookup / 1e3)
	}
	return cs
}

// seriesOf returns the series of r's check, resolving them on its first
// result. When the check's kind or target changed (a catalogue update),
// its old gauge series are deleted first, so that no stale target keeps
// reporting.
func (g *resultGauges) seriesOf(r Result) *checkSeries {
	g.mu.Lock()
	defer g.mu.Unlock()
	cs, seen := g.series[r.Check]
	if seen && cs.kind == r.Kind && cs.target == r.Target {
		return cs
	}
	if seen {
		for _, v := range g.vecs() {
			v.DeletePartialMatch(prometheus.Labels{"check": r.Check})
		}
	}
	c := r.Check
	cs = &checkSeries{kind: r.Kind, target: r.Target,
		success:  g.success.WithLabelValues(c, r.Kind, r.Target),
		duration: g.duration.WithLabelValues(c, r.Kind, r.Target)}
	switch r.Kind {
	case KindHTTP:
		for _, p := range httpPhases {
			cs.kindGauges = append(cs.kindGauges, g.httpPhase.WithLabelValues(c, p))
		}
		cs.kindGauges = append(cs.kindGauges, g.httpStatus.WithLabelValues(c))
	case KindICMP:
		cs.kindGauges = []prometheus.Gauge{g.icmpRTT.WithLabelValues(c, "rtt"), g.icmpMin.WithLabelValues(c),
			g.icmpMax.WithLabelValues(c), g.icmpStd.WithLabelValues(c), g.icmpSent.WithLabelValues(c), g.icmpReceived.WithLabelValues(c)}
	case KindDNS:
		cs.kindGauges = []prometheus.Gauge{g.dnsLookup.WithLabelValues(c)}
	}
	if g.checks != nil {
		cs.ok, cs.failed = g.checks.WithLabelValues(c, r.Kind, "success"), g.checks.WithLabelValues(c, r.Kind, "failure")
	}
	g.series[c] = cs
	return cs
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
