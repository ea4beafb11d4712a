package probe

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
)

func TestCheckConfigBad(t *testing.T) {
	tests := []struct {
		file, wantErr string
	}{
		{"http_status", "checks[2].http.valid_status_codes[0] (700) is not an HTTP status"},
		{"http_regex", `checks[0].http.fail_if_body_matches[0] ("(oops"): error parsing regexp`},
		{"http_unknown_key", "field methd not found"},
		{"block_kind", `checks[0].dns is set but kind is "http"`},
		{"icmp_interval", "checks[0].icmp.count (5) × icmp.interval (200ms) must be shorter than timeout (1s)"},
		{"dns_server", "checks[0].dns.server is missing"},
		{"dns_rcode", `checks[0].dns.valid_rcodes[0] ("NOERR") is not a DNS rcode`},
		{"tls_min", `checks[0].http.tls.min_version "TLS1.2" is not one of TLS10, TLS11, TLS12, TLS13`},
		{"tcp_tls_block", "cannot unmarshal !!map into bool"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file+".bad.yml")
			_, err := LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LoadConfig(%s) error = %v, want it to contain %q", path, err, tc.wantErr)
			}
		})
	}
}

func TestCheckConfigGood(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "checks.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := []checkspec.CheckConfig{
		{Name: "portal", Kind: wire.KindHTTP, Target: "https://127.0.0.1:9443/login", Interval: 30 * time.Second, Timeout: 5 * time.Second, Service: "perizinan",
			HTTP: &checkspec.HTTPOptions{
				Method: "POST", Headers: map[string]string{"Host": "perizinan.test", "X-Probe": "pdg-03"}, Body: "ping=1",
				ValidStatusCodes: []int{200, 302}, FailIfBodyMatches: []string{"(?i)maintenance"}, FailIfBodyNotMatches: []string{"Masuk"},
				MaxRedirects: intp(0), TLS: &checkspec.TLSOptions{ServerName: "perizinan.test", InsecureSkipVerify: true, MinVersion: "TLS12"},
				ProxyURL: "http://127.0.0.1:3128", KeepAlive: true,
			}},
		{Name: "imaps", Kind: wire.KindTCP, Target: "127.0.0.1:993", Interval: 30 * time.Second, Timeout: 10 * time.Second,
			TCP: &checkspec.TCPOptions{TLS: true, TLSConfig: &checkspec.TLSOptions{ServerName: "mail.test"}}},
		{Name: "gateway-ping", Kind: wire.KindICMP, Target: "127.0.0.1", Interval: 30 * time.Second, Timeout: 3 * time.Second,
			ICMP: &checkspec.ICMPOptions{Count: 8, Interval: 100 * time.Millisecond, Size: 1400, DontFragment: true, IPProtocol: "ip4", RecordRTTs: true}},
		{Name: "resolver", Kind: wire.KindDNS, Target: "perizinan.test", Interval: 30 * time.Second, Timeout: 10 * time.Second,
			DNS: &checkspec.DNSOptions{Server: "127.0.0.1:53", QueryType: "AAAA", Transport: "tcp", ValidRcodes: []string{"NOERROR", "NXDOMAIN"},
				FailIfNoneMatchesRegexp: []string{`IN\s+AAAA`}, RecursionDesired: &no}},
		{Name: "plain-ping", Kind: wire.KindICMP, Target: "::1", Interval: 30 * time.Second, Timeout: 10 * time.Second},
	}
	if !reflect.DeepEqual(cfg.Checks, want) {
		t.Errorf("checks decoded as\n%#v\nwant\n%#v", cfg.Checks, want)
	}
}

func intp(i int) *int { return &i }
