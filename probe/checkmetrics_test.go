package probe

import (
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var checkMetricsStart = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// checkResult is a result of check at checkMetricsStart.
func checkResult(check, kind, target string, ok bool, durationMS float64, phases map[string]float64) wire.Result {
	r := wire.Result{Time: checkMetricsStart, Check: check, Kind: kind, Target: target, OK: ok, DurationMS: durationMS, Phases: phases}
	if !ok {
		r.ErrorClass = wire.ClassTimeout
	}
	return r
}

// The exposition of each kind, and of the changes a catalogue makes, is
// blackbox_exporter's, name for name and value for value.
func TestCheckCollectorExposition(t *testing.T) {
	httpOK := checkResult("portal", wire.KindHTTP, "https://a/", true, 250,
		map[string]float64{"resolve": 5, "connect": 20, "tls": 30, "processing": 170, "transfer": 25, "cert_expiry_days": 30})
	httpOK.StatusCode = 200
	expiry30d := "1.7983584e+09" // checkMetricsStart + 30 days
	httpMoved := checkResult("portal", wire.KindHTTP, "https://b/", false, 40, nil)

	tests := []struct {
		name    string
		results []wire.Result
		retain  []string // nil: retain is not called
		metrics []string
		want    string
	}{{
		name:    "http",
		results: []wire.Result{httpOK},
		metrics: []string{"probe_success", "probe_duration_seconds", "probe_http_duration_seconds", "probe_http_status_code",
			"probe_ssl_earliest_cert_expiry", "jangkau_probe_checks_total"},
		want: `
# HELP jangkau_probe_checks_total Check runs, by check, kind and result (success or failure).
# TYPE jangkau_probe_checks_total counter
jangkau_probe_checks_total{check="portal",kind="http",result="failure"} 0
jangkau_probe_checks_total{check="portal",kind="http",result="success"} 1
# HELP probe_duration_seconds How long the check's latest run took.
# TYPE probe_duration_seconds gauge
probe_duration_seconds{check="portal",kind="http",target="https://a/"} 0.25
# HELP probe_http_duration_seconds Duration of each phase of the latest http run.
# TYPE probe_http_duration_seconds gauge
probe_http_duration_seconds{check="portal",phase="connect"} 0.02
probe_http_duration_seconds{check="portal",phase="processing"} 0.17
probe_http_duration_seconds{check="portal",phase="resolve"} 0.005
probe_http_duration_seconds{check="portal",phase="tls"} 0.03
probe_http_duration_seconds{check="portal",phase="transfer"} 0.025
# HELP probe_http_status_code HTTP status of the latest http run; 0 without an answer.
# TYPE probe_http_status_code gauge
probe_http_status_code{check="portal"} 200
# HELP probe_ssl_earliest_cert_expiry When the target's certificate expires, as a Unix time.
# TYPE probe_ssl_earliest_cert_expiry gauge
probe_ssl_earliest_cert_expiry{check="portal"} ` + expiry30d + `
# HELP probe_success Whether the check's latest run succeeded.
# TYPE probe_success gauge
probe_success{check="portal",kind="http",target="https://a/"} 1
`,
	}, {
		name: "icmp",
		results: []wire.Result{checkResult("gw", wire.KindICMP, "10.0.0.1", true, 2000,
			map[string]float64{"rtt_min": 10, "rtt_avg": 12, "rtt_max": 15, "rtt_stddev": 2, "sent": 3, "received": 2, "loss": 0.33})},
		metrics: []string{"probe_icmp_duration_seconds", "probe_icmp_duration_rtt_min_seconds", "probe_icmp_duration_rtt_max_seconds",
			"probe_icmp_duration_rtt_stddev_seconds", "probe_icmp_packets_sent_count", "probe_icmp_packets_received_count",
			"probe_http_duration_seconds", "probe_ssl_earliest_cert_expiry"},
		want: `
# HELP probe_icmp_duration_rtt_max_seconds Longest round trip of the latest icmp run.
# TYPE probe_icmp_duration_rtt_max_seconds gauge
probe_icmp_duration_rtt_max_seconds{check="gw"} 0.015
# HELP probe_icmp_duration_rtt_min_seconds Shortest round trip of the latest icmp run.
# TYPE probe_icmp_duration_rtt_min_seconds gauge
probe_icmp_duration_rtt_min_seconds{check="gw"} 0.01
# HELP probe_icmp_duration_rtt_stddev_seconds Standard deviation of the round trips of the latest icmp run.
# TYPE probe_icmp_duration_rtt_stddev_seconds gauge
probe_icmp_duration_rtt_stddev_seconds{check="gw"} 0.002
# HELP probe_icmp_duration_seconds Mean round trip of the latest icmp run (phase rtt).
# TYPE probe_icmp_duration_seconds gauge
probe_icmp_duration_seconds{check="gw",phase="rtt"} 0.012
# HELP probe_icmp_packets_received_count Echo replies received by the latest icmp run.
# TYPE probe_icmp_packets_received_count gauge
probe_icmp_packets_received_count{check="gw"} 2
# HELP probe_icmp_packets_sent_count Echo requests sent by the latest icmp run.
# TYPE probe_icmp_packets_sent_count gauge
probe_icmp_packets_sent_count{check="gw"} 3
`,
	}, {
		name: "dns lookup, else the run",
		results: []wire.Result{
			checkResult("ns1", wire.KindDNS, "10.0.0.53", true, 30, map[string]float64{"lookup": 12}),
			checkResult("ns2", wire.KindDNS, "10.0.0.54", false, 40, nil),
		},
		metrics: []string{"probe_dns_lookup_time_seconds", "probe_success"},
		want: `
# HELP probe_dns_lookup_time_seconds How long the latest dns lookup took.
# TYPE probe_dns_lookup_time_seconds gauge
probe_dns_lookup_time_seconds{check="ns1"} 0.012
probe_dns_lookup_time_seconds{check="ns2"} 0.04
# HELP probe_success Whether the check's latest run succeeded.
# TYPE probe_success gauge
probe_success{check="ns1",kind="dns",target="10.0.0.53"} 1
probe_success{check="ns2",kind="dns",target="10.0.0.54"} 0
`,
	}, {
		name: "tcp keeps a known expiry through a run without one",
		results: []wire.Result{
			checkResult("smtp", wire.KindTCP, "mail:465", true, 30, map[string]float64{"cert_expiry_days": 30}),
			checkResult("smtp", wire.KindTCP, "mail:465", false, 30, nil),
			checkResult("plain", wire.KindTCP, "mail:25", true, 30, nil),
		},
		metrics: []string{"probe_ssl_earliest_cert_expiry", "jangkau_probe_checks_total", "jangkau_probe_check_failures_total"},
		want: `
# HELP jangkau_probe_check_failures_total Failed check runs, by check and error class.
# TYPE jangkau_probe_check_failures_total counter
jangkau_probe_check_failures_total{check="smtp",class="timeout"} 1
# HELP jangkau_probe_checks_total Check runs, by check, kind and result (success or failure).
# TYPE jangkau_probe_checks_total counter
jangkau_probe_checks_total{check="plain",kind="tcp",result="failure"} 0
jangkau_probe_checks_total{check="plain",kind="tcp",result="success"} 1
jangkau_probe_checks_total{check="smtp",kind="tcp",result="failure"} 1
jangkau_probe_checks_total{check="smtp",kind="tcp",result="success"} 1
# HELP probe_ssl_earliest_cert_expiry When the target's certificate expires, as a Unix time.
# TYPE probe_ssl_earliest_cert_expiry gauge
probe_ssl_earliest_cert_expiry{check="smtp"} ` + expiry30d + `
`,
	}, {
		name:    "a new target drops the old series and its expiry, and counts on",
		results: []wire.Result{httpOK, httpMoved},
		metrics: []string{"probe_success", "probe_ssl_earliest_cert_expiry", "probe_http_status_code", "jangkau_probe_checks_total"},
		want: `
# HELP jangkau_probe_checks_total Check runs, by check, kind and result (success or failure).
# TYPE jangkau_probe_checks_total counter
jangkau_probe_checks_total{check="portal",kind="http",result="failure"} 1
jangkau_probe_checks_total{check="portal",kind="http",result="success"} 1
# HELP probe_http_status_code HTTP status of the latest http run; 0 without an answer.
# TYPE probe_http_status_code gauge
probe_http_status_code{check="portal"} 0
# HELP probe_success Whether the check's latest run succeeded.
# TYPE probe_success gauge
probe_success{check="portal",kind="http",target="https://b/"} 0
`,
	}, {
		name:    "a new kind drops the old kind's series and counts",
		results: []wire.Result{httpOK, checkResult("portal", wire.KindTCP, "a:443", true, 10, nil)},
		metrics: []string{"probe_success", "probe_http_duration_seconds", "probe_http_status_code", "jangkau_probe_checks_total"},
		want: `
# HELP jangkau_probe_checks_total Check runs, by check, kind and result (success or failure).
# TYPE jangkau_probe_checks_total counter
jangkau_probe_checks_total{check="portal",kind="tcp",result="failure"} 0
jangkau_probe_checks_total{check="portal",kind="tcp",result="success"} 1
# HELP probe_success Whether the check's latest run succeeded.
# TYPE probe_success gauge
probe_success{check="portal",kind="tcp",target="a:443"} 1
`,
	}, {
		name: "a check no longer scheduled loses every series, a late run brings none back",
		results: []wire.Result{
			httpMoved,
			checkResult("gw", wire.KindICMP, "10.0.0.1", true, 10, nil),
		},
		retain:  []string{"gw"},
		metrics: []string{"probe_success", "probe_http_status_code", "jangkau_probe_checks_total", "jangkau_probe_check_failures_total"},
		want: `
# HELP jangkau_probe_checks_total Check runs, by check, kind and result (success or failure).
# TYPE jangkau_probe_checks_total counter
jangkau_probe_checks_total{check="gw",kind="icmp",result="failure"} 0
jangkau_probe_checks_total{check="gw",kind="icmp",result="success"} 2
# HELP probe_success Whether the check's latest run succeeded.
# TYPE probe_success gauge
probe_success{check="gw",kind="icmp",target="10.0.0.1"} 1
`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m, err := newMetrics(reg, openSpool(t, t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.results {
				m.result(r)
			}
			if tc.retain != nil {
				m.retain(tc.retain)
				for _, r := range tc.results { // runs in flight when retain ran
					m.result(r)
				}
			}
			if got := exposition(t, reg, tc.metrics...); got != strings.TrimPrefix(tc.want, "\n") {
				t.Errorf("/metrics:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// A check retain dropped reports again once it is scheduled again.
func TestCheckCollectorRetainAgain(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, openSpool(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	r := checkResult("portal", wire.KindHTTP, "https://a/", true, 10, nil)
	m.result(r)
	m.retain(nil)
	m.result(r)
	if got := exposition(t, reg, "probe_success", "jangkau_probe_checks_total"); got != "" {
		t.Fatalf("series of a check no longer scheduled:\n%s", got)
	}
	m.retain([]string{"portal"})
	m.result(r)
	if got := gathered(t, reg, "jangkau_probe_checks_total", "check", "portal", "kind", wire.KindHTTP, "result", "success"); got != 1 {
		t.Errorf("checks_total after the check came back = %v, want 1 (counted afresh)", got)
	}
}

// Results recorded while the registry is scraped: run with -race.
func TestCheckCollectorConcurrentScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, openSpool(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	rs := benchResults(20)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 200 {
				m.result(rs[(i+w)%len(rs)])
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() { m.retain([]string{rs[0].Check}) })
	wg.Wait()
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// promtool lints the probe's exposition after a result of every kind. The
// only findings allowed are the _count gauges that keep Grafana's
// synthetic-monitoring-agent names (see checkCollector).
func TestCheckMetricsPromtool(t *testing.T) {
	promtool := testenv.LookPath(t, "promtool", "prometheus")
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, openSpool(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	m.result(checkResult("portal", wire.KindHTTP, "https://a/", true, 250, map[string]float64{"resolve": 5, "cert_expiry_days": 30}))
	m.result(checkResult("gw", wire.KindICMP, "10.0.0.1", true, 2000, map[string]float64{"rtt_avg": 12, "sent": 3, "received": 3}))
	m.result(checkResult("ns", wire.KindDNS, "10.0.0.53", false, 40, nil))
	m.result(checkResult("smtp", wire.KindTCP, "mail:465", true, 30, map[string]float64{"cert_expiry_days": 2}))
	exposition := exposition(t, reg)
	if !strings.Contains(exposition, `probe_success{check="smtp",kind="tcp",target="mail:465"} 1`) {
		t.Fatalf("exposition without the tcp check:\n%s", exposition)
	}

	lint := exec.Command(promtool, "check", "metrics")
	lint.Stdin = strings.NewReader(exposition)
	out, _ := lint.CombinedOutput()
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		switch line {
		case "", `probe_icmp_packets_sent_count non-histogram and non-summary metrics should not have "_count" suffix`,
			`probe_icmp_packets_received_count non-histogram and non-summary metrics should not have "_count" suffix`:
		default:
			t.Errorf("promtool check metrics: %s", line)
		}
	}
}

// exposition is what /metrics serves from reg in the text format: the
// families named, or all of them.
func exposition(t *testing.T, reg prometheus.Gatherer, names ...string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	if len(names) == 0 {
		return rec.Body.String()
	}
	var b strings.Builder
	for line := range strings.Lines(rec.Body.String()) {
		name := line
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			name = rest[strings.IndexByte(rest, ' ')+1:] // after HELP or TYPE
		}
		name = name[:strings.IndexAny(name, "{ ")]
		if slices.Contains(names, name) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// A catalogue that no longer lists a check takes its series off /metrics.
func TestApplyCatalogueDropsSeriesOfRemovedChecks(t *testing.T) {
	p, _, reg := catalogueProbe(t, "http://127.0.0.1:1", AllowConfig{CIDRs: []string{"127.0.0.0/8"}})
	defer p.Close()
	if err := p.applyBody([]byte(mergeBody), "test"); err != nil {
		t.Fatal(err)
	}
	for _, check := range []string{"gw", "inside"} {
		p.metrics.result(checkResult(check, wire.KindTCP, "127.0.0.5:80", false, 3, nil))
	}
	if err := p.applyBody([]byte("checks:\n  - {name: gw, kind: tcp, target: \"127.0.0.1:7\", interval: 1h, timeout: 1s}\n"), "test"); err != nil {
		t.Fatal(err)
	}
	p.metrics.result(checkResult("inside", wire.KindTCP, "127.0.0.5:80", true, 3, nil)) // in flight at the update
	got := exposition(t, reg, "probe_success", "jangkau_probe_checks_total", "jangkau_probe_check_failures_total")
	if strings.Contains(got, `check="inside"`) || !strings.Contains(got, `probe_success{check="gw"`) {
		t.Errorf("after the catalogue dropped inside, /metrics has:\n%s", got)
	}
}
