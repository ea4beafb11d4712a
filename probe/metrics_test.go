package probe

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
)

func TestResultGaugesBlackboxNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, openSpool(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	m.result(wire.Result{Time: start, Check: "portal", Kind: wire.KindHTTP, Target: "https://a/", OK: true, DurationMS: 250, StatusCode: 200,
		Phases: map[string]float64{"resolve": 5, "connect": 20, "processing": 200, "transfer": 25, "cert_expiry_days": 30}})
	m.result(wire.Result{Time: start, Check: "gw", Kind: wire.KindICMP, Target: "10.0.0.1", OK: true, DurationMS: 2000,
		Phases: map[string]float64{"rtt_min": 10, "rtt_avg": 12, "rtt_max": 15, "rtt_stddev": 2, "sent": 3, "received": 2, "loss": 0.33}})
	m.result(wire.Result{Time: start, Check: "ns", Kind: wire.KindDNS, Target: "10.0.0.53", OK: false, DurationMS: 40, ErrorClass: wire.ClassTimeout})

	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"probe_success", []string{"check", "portal", "kind", "http", "target", "https://a/"}, 1},
		{"probe_duration_seconds", []string{"check", "portal", "kind", "http", "target", "https://a/"}, 0.25},
		{"probe_http_duration_seconds", []string{"check", "portal", "phase", "processing"}, 0.2},
		{"probe_http_duration_seconds", []string{"check", "portal", "phase", "tls"}, 0},
		{"probe_http_status_code", []string{"check", "portal"}, 200},
		{"probe_ssl_earliest_cert_expiry", []string{"check", "portal"}, float64(start.AddDate(0, 0, 30).Unix())},
		{"probe_icmp_duration_seconds", []string{"check", "gw", "phase", "rtt"}, 0.012},
		{"probe_icmp_duration_rtt_min_seconds", []string{"check", "gw"}, 0.010},
		{"probe_icmp_duration_rtt_max_seconds", []string{"check", "gw"}, 0.015},
		{"probe_icmp_duration_rtt_stddev_seconds", []string{"check", "gw"}, 0.002},
		{"probe_icmp_packets_sent_count", []string{"check", "gw"}, 3},
		{"probe_icmp_packets_received_count", []string{"check", "gw"}, 2},
		{"probe_success", []string{"check", "ns", "kind", "dns", "target", "10.0.0.53"}, 0},
		{"probe_dns_lookup_time_seconds", []string{"check", "ns"}, 0.04},
		{"jangkau_probe_check_failures_total", []string{"check", "ns", "class", "timeout"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name+strings.Join(tc.labels, ","), func(t *testing.T) {
			if got := gathered(t, reg, tc.name, tc.labels...); got != tc.want {
				t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
			}
		})
	}

	// A catalogue moves the check to another target: the old series go.
	m.result(wire.Result{Time: start, Check: "portal", Kind: wire.KindHTTP, Target: "https://b/", OK: true, StatusCode: 200})
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetValue() == "https://a/" {
					t.Errorf("%s still has a series for the old target", mf.GetName())
				}
			}
		}
	}
}

func TestServeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openSpool(t, t.TempDir())
	s.Add(results(3)...)
	m, err := newMetrics(reg, s)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Probe{cfg: &Config{MetricsListen: ln.Addr().String()}, log: discard, spool: s, metrics: m}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { p.serveMetricsOn(ctx, ln); close(done) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"jangkau_probe_spool_results 3", `jangkau_probe_spool_dropped_total{reason="size"} 0`,
		"jangkau_probe_spool_oldest_result_age_seconds", "jangkau_probe_upload_backlog_drain_rate 0", "\njangkau_probe_build_info{"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cancel()
	<-done
	if _, err := http.Get("http://" + ln.Addr().String() + "/metrics"); err == nil {
		t.Error("metrics still served after ctx ended")
	}
}

// Without a registry, or without metrics_listen, nothing is served and
// serveMetrics returns at once (a server would run until ctx ends); a
// metrics_listen it cannot serve is logged.
func TestServeMetricsOff(t *testing.T) {
	reserved, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := reserved.Addr().String()
	reserved.Close() // free, so that a server could take it
	for _, tc := range []struct {
		name    string
		cfg     Config
		metrics *metrics
		wantLog string
	}{
		{name: "no metrics_listen", metrics: &metrics{gatherer: prometheus.NewRegistry()}},
		{name: "no metrics", cfg: Config{MetricsListen: addr}, wantLog: "no registry to serve"},
		{name: "no registry", cfg: Config{MetricsListen: addr}, metrics: &metrics{}, wantLog: "no registry to serve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, logs := testlog.New()
			p := &Probe{cfg: &tc.cfg, log: log, metrics: tc.metrics}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan struct{})
			go func() { p.serveMetrics(ctx); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cancel()
				<-done
				t.Fatal("serveMetrics still running after 5 s: it served")
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Errorf("something listens on %s", addr)
			}
			if got := logs.String(); tc.wantLog == "" && got != "" || !strings.Contains(got, tc.wantLog) {
				t.Errorf("log %q, want %q", got, tc.wantLog)
			}
		})
	}
}
