package probe

import (
	"sync"
	"time"

	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// httpPhases are the phases of probe_http_duration_seconds, as
// blackbox_exporter names them; an http result sets all of them (0 for a
// phase the run did not reach), as blackbox does.
var httpPhases = [...]string{"resolve", "connect", "tls", "processing", "transfer"}

// checkCollector holds the latest result of every check under
// blackbox_exporter's names, so that its dashboards and alerts work on a
// jangkau probe. Where blackbox has no name (multi-packet ICMP), the names
// of Grafana's synthetic-monitoring-agent (blackbox-derived, and a
// multi-packet pinger too) are used:
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
// and counts runs in jangkau_probe_checks_total{check,kind,result}.
//
// It is a custom collector that builds its series when scraped, as
// exporters that mirror state are written: a check costs one small struct
// instead of a dozen vector children with their label pairs
// (BenchmarkCheckMetricsHeap), and a result is a few field writes under
// one lock, without allocation.
//
// When a check's kind or target changes, its old series go; its run
// counts go too when the kind changes (the kind is one of their labels)
// and keep counting when only the target does. A check the probe no longer
// schedules (retain) loses all its series.
type checkCollector struct {
	mu     sync.Mutex
	checks map[string]*checkState // by check
	// retired are checks retain dropped: a run of one still in flight
	// when it was removed must not bring its series back.
	retired map[string]struct{}
}

// checkState is the latest result of one check and its run counts.
type checkState struct {
	kind, target      string
	success, duration float64
	hasExpiry         bool
	expiry            float64
	vals              kindValues
	succeeded, failed float64 // jangkau_probe_checks_total under kind
}

// kindValues are a result's kind-specific gauges: http: httpPhases then
// status; icmp: rtt avg, min, max, stddev, sent, received; dns: lookup.
type kindValues [len(httpPhases) + 1]float64

// maxCheckSeries is the most series a check has: success, duration, two
// of jangkau_probe_checks_total, certificate expiry and its kindValues.
const maxCheckSeries = 5 + len(kindValues{})

var (
	checkLabels   = []string{"check"}
	checkKindTgt  = []string{"check", "kind", "target"}
	descSuccess   = prometheus.NewDesc("probe_success", "Whether the check's latest run succeeded.", checkKindTgt, nil)
	descDuration  = prometheus.NewDesc("probe_duration_seconds", "How long the check's latest run took.", checkKindTgt, nil)
	descHTTPPhase = prometheus.NewDesc("probe_http_duration_seconds", "Duration of each phase of the latest http run.",
		[]string{"check", "phase"}, nil)
	descHTTPStatus = prometheus.NewDesc("probe_http_status_code", "HTTP status of the latest http run; 0 without an answer.", checkLabels, nil)
	descCertExpiry = prometheus.NewDesc("probe_ssl_earliest_cert_expiry", "When the target's certificate expires, as a Unix time.", checkLabels, nil)
	// icmpDescs are in the order of kindValues for icmp.
	icmpDescs = [...]*prometheus.Desc{
		prometheus.NewDesc("probe_icmp_duration_seconds", "Mean round trip of the latest icmp run (phase rtt).",
			[]string{"check", "phase"}, nil),
		prometheus.NewDesc("probe_icmp_duration_rtt_min_seconds", "Shortest round trip of the latest icmp run.", checkLabels, nil),
		prometheus.NewDesc("probe_icmp_duration_rtt_max_seconds", "Longest round trip of the latest icmp run.", checkLabels, nil),
		prometheus.NewDesc("probe_icmp_duration_rtt_stddev_seconds", "Standard deviation of the round trips of the latest icmp run.", checkLabels, nil),
		prometheus.NewDesc("probe_icmp_packets_sent_count", "Echo requests sent by the latest icmp run.", checkLabels, nil),
		prometheus.NewDesc("probe_icmp_packets_received_count", "Echo replies received by the latest icmp run.", checkLabels, nil),
	}
	descDNSLookup = prometheus.NewDesc("probe_dns_lookup_time_seconds", "How long the latest dns lookup took.", checkLabels, nil)
	descChecks    = prometheus.NewDesc("jangkau_probe_checks_total", "Check runs, by check, kind and result (success or failure).",
		[]string{"check", "kind", "result"}, nil)
)

var _ prometheus.Collector = (*checkCollector)(nil)

func newCheckCollector() *checkCollector {
	return &checkCollector{checks: map[string]*checkState{}, retired: map[string]struct{}{}}
}

// Describe lists every desc, so that the registry checks what Collect
// sends.
func (c *checkCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSuccess, descDuration, descHTTPPhase, descHTTPStatus, descCertExpiry, descDNSLookup, descChecks} {
		ch <- d
	}
	for _, d := range icmpDescs {
		ch <- d
	}
}

// record makes r its check's latest result and counts it; it reports
// false for a check retain dropped, whose result is not shown.
func (c *checkCollector) record(r wire.Result) bool {
	vals := valuesOf(r)
	days, hasExpiry := r.Phases["cert_expiry_days"]
	var expiry float64
	if hasExpiry {
		expiry = float64(r.Time.Add(time.Duration(days * float64(24*time.Hour))).Unix())
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.checks[r.Check]
	switch {
	case st != nil && st.kind == r.Kind && st.target == r.Target:
	case st != nil && st.kind == r.Kind: // a new target: the counts go on
		*st = checkState{kind: r.Kind, target: r.Target, succeeded: st.succeeded, failed: st.failed}
	case st != nil:
		*st = checkState{kind: r.Kind, target: r.Target}
	default:
		if _, gone := c.retired[r.Check]; gone {
			return false
		}
		st = &checkState{kind: r.Kind, target: r.Target}
		c.checks[r.Check] = st
	}
	st.success, st.duration, st.vals = b2f(r.OK), r.DurationMS/1e3, vals
	if hasExpiry {
		st.hasExpiry, st.expiry = true, expiry
	}
	if r.OK {
		st.succeeded++
	} else {
		st.failed++
	}
	return true
}

// valuesOf is r's kindValues.
func valuesOf(r wire.Result) kindValues {
	var v kindValues
	secs := func(phase string) float64 { return r.Phases[phase] / 1e3 }
	switch r.Kind {
	case wire.KindHTTP:
		for i, p := range httpPhases {
			v[i] = secs(p)
		}
		v[len(httpPhases)] = float64(r.StatusCode)
	case wire.KindICMP:
		v[0], v[1], v[2], v[3] = secs("rtt_avg"), secs("rtt_min"), secs("rtt_max"), secs("rtt_stddev")
		v[4], v[5] = r.Phases["sent"], r.Phases["received"]
	case wire.KindDNS:
		lookup, ok := r.Phases["lookup"]
		if !ok {
			lookup = r.DurationMS
		}
		v[0] = lookup / 1e3
	}
	return v
}

// retain drops the series of every check not in names (the checks the
// probe schedules now) and keeps them from coming back until the check
// is scheduled again; it returns the checks it dropped.
func (c *checkCollector) retain(names []string) []string {
	keep := make(map[string]bool, len(names))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range names {
		keep[n] = true
		delete(c.retired, n)
	}
	var dropped []string
	for n := range c.checks {
		if !keep[n] {
			delete(c.checks, n)
			c.retired[n] = struct{}{}
			dropped = append(dropped, n)
		}
	}
	return dropped
}

// namedState is a copy of a check's state, taken under the lock.
type namedState struct {
	check string
	checkState
}

// Collect sends every check's series, built from a copy so that a scrape
// does not hold up results.
func (c *checkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	states := make([]namedState, 0, len(c.checks))
	for n, st := range c.checks {
		states = append(states, namedState{n, *st})
	}
	c.mu.Unlock()
	for i := range states {
		states[i].collect(ch)
	}
}

// Label pairs every check shares, in the order of httpPhases.
var (
	phasePairs  = labelPairs("phase", httpPhases[:]...)
	rttPair     = labelPairs("phase", "rtt")[0]
	resultPairs = labelPairs("result", "success", "failure")

	labelCheck, labelKind, labelTarget = "check", "kind", "target"
)

// collect sends s's series. They share the label pairs of s's check,
// kind and target, made once a scrape in one allocation, where
// prometheus.MustNewConstMetric makes and checks every pair of every
// series: 14 allocations a series, 2.5 times the garbage of a scrape of
// GaugeVecs.
func (s *namedState) collect(ch chan<- prometheus.Metric) {
	sc := new(checkScrape)
	sc.pairs[0].Name, sc.pairs[0].Value = &labelCheck, &s.check
	sc.pairs[1].Name, sc.pairs[1].Value = &labelKind, &s.kind
	sc.pairs[2].Name, sc.pairs[2].Value = &labelTarget, &s.target
	check, kind, target := &sc.pairs[0], &sc.pairs[1], &sc.pairs[2]
	ckt := sc.labels(check, kind, target)
	checkOnly := ckt[:1:1]

	gauge := prometheus.GaugeValue
	sc.add(descSuccess, gauge, s.success, ckt)
	sc.add(descDuration, gauge, s.duration, ckt)
	sc.add(descChecks, prometheus.CounterValue, s.succeeded, sc.labels(check, kind, resultPairs[0]))
	sc.add(descChecks, prometheus.CounterValue, s.failed, sc.labels(check, kind, resultPairs[1]))
	if s.hasExpiry {
		sc.add(descCertExpiry, gauge, s.expiry, checkOnly)
	}
	switch s.kind {
	case wire.KindHTTP:
		for i := range httpPhases {
			sc.add(descHTTPPhase, gauge, s.vals[i], sc.labels(check, phasePairs[i]))
		}
		sc.add(descHTTPStatus, gauge, s.vals[len(httpPhases)], checkOnly)
	case wire.KindICMP:
		sc.add(icmpDescs[0], gauge, s.vals[0], sc.labels(check, rttPair))
		for i, d := range icmpDescs[1:] {
			sc.add(d, gauge, s.vals[i+1], checkOnly)
		}
	case wire.KindDNS:
		sc.add(descDNSLookup, gauge, s.vals[0], checkOnly)
	}
	for i := range sc.nseries {
		ch <- &sc.series[i]
	}
}

// checkScrape is what one scrape makes of a check.
type checkScrape struct {
	pairs   [3]dto.LabelPair                              // check, kind, target
	ptrs    [3 + 3 + 3 + 2*len(httpPhases)]*dto.LabelPair // label sets, most for http
	nptrs   int
	series  [maxCheckSeries]constSeries
	nseries int
}

// labels is a label set of sc of pairs, sorted by name.
func (sc *checkScrape) labels(pairs ...*dto.LabelPair) []*dto.LabelPair {
	l := sc.ptrs[sc.nptrs : sc.nptrs+len(pairs) : sc.nptrs+len(pairs)]
	copy(l, pairs)
	sc.nptrs += len(pairs)
	return l
}

func (sc *checkScrape) add(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []*dto.LabelPair) {
	sc.series[sc.nseries] = constSeries{desc: d, typ: t, value: v, labels: labels}
	sc.nseries++
}

// constSeries is a series of one scrape, a prometheus.Metric like those
// of prometheus.MustNewConstMetric. Its labels, sorted by name, are shared
// with other series and must not be changed.
type constSeries struct {
	desc   *prometheus.Desc
	typ    prometheus.ValueType
	value  float64
	labels []*dto.LabelPair
}

func (s *constSeries) Desc() *prometheus.Desc { return s.desc }

func (s *constSeries) Write(m *dto.Metric) error {
	m.Label = s.labels
	if s.typ == prometheus.CounterValue {
		m.Counter = &dto.Counter{Value: &s.value}
	} else {
		m.Gauge = &dto.Gauge{Value: &s.value}
	}
	return nil
}

// labelPairs are the pairs of name and each of values.
func labelPairs(name string, values ...string) []*dto.LabelPair {
	ps := make([]*dto.LabelPair, len(values))
	for i := range values {
		ps[i] = &dto.LabelPair{Name: &name, Value: &values[i]}
	}
	return ps
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
