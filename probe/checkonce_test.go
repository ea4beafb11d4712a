package probe

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check/checktest"
	"github.com/jangkau/jangkau/wire"
)

// checkOnceConfig is a probe config whose checks hit real local servers:
// two that pass and two that fail.
func checkOnceConfig(t *testing.T) *Config {
	srv := httptest.NewServer(checktest.Mux())
	t.Cleanup(srv.Close)
	dnsAddr := checktest.DNSServer(t, "udp")
	cc := func(name, kind, target string) checkspec.CheckConfig {
		return checkspec.CheckConfig{Name: name, Kind: kind, Target: target, Interval: 10 * time.Second, Timeout: 2 * time.Second}
	}
	portal, broken, dead, resolver := cc("portal", wire.KindHTTP, srv.URL+"/ok"), cc("broken", wire.KindHTTP, srv.URL+"/fail"),
		cc("dead-port", wire.KindTCP, checktest.DeadAddr(t)), cc("resolver", wire.KindDNS, "portal.example")
	resolver.DNS = &checkspec.DNSOptions{Server: dnsAddr}
	return &Config{ID: "t", Collector: "http://127.0.0.1:1", Token: "x", Concurrency: 2,
		Checks: []checkspec.CheckConfig{portal, broken, dead, resolver}}
}

func TestCheckOnceTable(t *testing.T) {
	cfg := checkOnceConfig(t)
	var out bytes.Buffer
	failed, err := CheckOnce(t.Context(), cfg, discard, &out, false)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 2 {
		t.Errorf("failed = %d, want 2", failed)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	t.Logf("table:\n%s", out.String())
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "CHECK") {
		t.Fatalf("want a header and 4 rows, got:\n%s", out.String())
	}
	wants := []struct{ prefix, result string }{
		{"portal ", "ok"}, {"broken ", "FAIL status"}, {"dead-port ", "FAIL refused"}, {"resolver ", "ok"},
	}
	col := strings.Index(lines[0], "RESULT")
	for i, w := range wants {
		l := lines[i+1]
		if !strings.HasPrefix(l, w.prefix) || !strings.HasPrefix(l[col:], w.result) {
			t.Errorf("row %d = %q, want it to start with %q and show %q under RESULT", i, l, w.prefix, w.result)
		}
	}
	for _, want := range []string{"processing=", "status=500", "unexpected status 500", "connection refused", "rcode=NOERROR answers=2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

func TestCheckOnceJSON(t *testing.T) {
	cfg := checkOnceConfig(t)
	var out bytes.Buffer
	failed, err := CheckOnce(t.Context(), cfg, discard, &out, true)
	if err != nil || failed != 2 {
		t.Fatalf("failed = %d, err = %v; want 2, nil", failed, err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != len(cfg.Checks) {
		t.Fatalf("%d lines, want one per check:\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		var r wire.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if r.Check != cfg.Checks[i].Name || r.Seq != 0 {
			t.Errorf("line %d is %q (seq %d), want %q in config order, no seq", i, r.Check, r.Seq, cfg.Checks[i].Name)
		}
	}
}
