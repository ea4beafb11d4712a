package checkspec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
)

func intp(i int) *int { return &i }

// TestValidate: each rule names its field, and the message is the one
// operators know from the probe's and the collector's load.
func TestValidate(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	base := func(kind, target string) CheckConfig {
		return CheckConfig{Name: "c", Kind: kind, Target: target, Interval: 10 * time.Second, Timeout: time.Second}
	}
	with := func(cc CheckConfig, f func(*CheckConfig)) CheckConfig { f(&cc); return cc }
	http, tcp := base(wire.KindHTTP, "http://127.0.0.1/"), base(wire.KindTCP, "127.0.0.1:80")
	icmp, dns := base(wire.KindICMP, "127.0.0.1"), base(wire.KindDNS, "portal.example")
	icmp.Timeout = 2 * time.Second
	dns.DNS = &DNSOptions{Server: "127.0.0.1:53"}
	tests := []struct {
		name      string
		cc        CheckConfig
		wantField string
		wantErr   string
	}{
		{"http ok", http, "", ""},
		{"tcp ok", tcp, "", ""},
		{"icmp ok", icmp, "", ""},
		{"dns ok", dns, "", ""},
		{"no name", with(http, func(c *CheckConfig) { c.Name = "" }), "name", "name is missing"},
		{"kind", with(http, func(c *CheckConfig) { c.Kind = "ftp" }), "kind", `kind "ftp" is not one of dns, http, icmp, tcp`},
		{"no kind", with(http, func(c *CheckConfig) { c.Kind = "" }), "kind", `kind "" is not one of dns, http, icmp, tcp`},
		{"interval", with(http, func(c *CheckConfig) { c.Interval = 0 }), "interval", "interval (0s) must be positive"},
		{"timeout", with(http, func(c *CheckConfig) { c.Timeout = 15 * time.Second }), "timeout", "timeout (15s) must be shorter than interval (10s)"},
		{"block", with(http, func(c *CheckConfig) { c.DNS = &DNSOptions{} }), "dns", `dns is set but kind is "http"`},
		{"http target", with(http, func(c *CheckConfig) { c.Target = "" }), "target", `target "" must be an absolute http or https URL`},
		{"status", with(http, func(c *CheckConfig) { c.HTTP = &HTTPOptions{ValidStatusCodes: []int{200, 700}} }),
			"http.valid_status_codes[1]", "http.valid_status_codes[1] (700) is not an HTTP status"},
		{"regex", with(http, func(c *CheckConfig) { c.HTTP = &HTTPOptions{FailIfBodyMatches: []string{"(oops"}} }),
			"http.fail_if_body_matches[0]", `http.fail_if_body_matches[0] ("(oops"): error parsing regexp: missing closing ): ` + "`(oops`"},
		{"method", with(http, func(c *CheckConfig) { c.HTTP = &HTTPOptions{Method: "get"} }), "http.method", `http.method "get" must be an upper-case HTTP method`},
		{"redirects", with(http, func(c *CheckConfig) { c.HTTP = &HTTPOptions{MaxRedirects: intp(-1)} }), "http.max_redirects", "http.max_redirects (-1) must not be negative"},
		{"min version", with(http, func(c *CheckConfig) { c.HTTP = &HTTPOptions{TLS: &TLSOptions{MinVersion: "SSL3"}} }),
			"http.tls.min_version", `http.tls.min_version "SSL3" is not one of TLS10, TLS11, TLS12, TLS13`},
		{"not pem", with(http, func(c *CheckConfig) { c.HTTP = &HTTPOptions{TLS: &TLSOptions{CAFile: notPEM}} }),
			"http.tls.ca_file", `http.tls.ca_file "` + notPEM + `" holds no PEM certificate`},
		{"tcp target", with(tcp, func(c *CheckConfig) { c.Target = "127.0.0.1" }), "target", `target "127.0.0.1" must be host:port`},
		{"tcp port", with(tcp, func(c *CheckConfig) { c.Target = "127.0.0.1:0" }), "target", `target "127.0.0.1:0": port must be a number in 1..65535`},
		{"tcp tls block", with(tcp, func(c *CheckConfig) { c.TCP = &TCPOptions{TLSConfig: &TLSOptions{}} }), "tcp.tls_config", "tcp.tls_config is set but tcp.tls is false"},
		{"icmp fit", with(icmp, func(c *CheckConfig) { c.ICMP = &ICMPOptions{Count: 10} }),
			"icmp.count", "icmp.count (10) × icmp.interval (200ms) must be shorter than timeout (2s)"},
		{"icmp family", with(icmp, func(c *CheckConfig) { c.ICMP = &ICMPOptions{IPProtocol: "ip6"} }),
			"target", `target "127.0.0.1" is not an address of icmp.ip_protocol ip6`},
		{"icmp rtts", with(icmp, func(c *CheckConfig) { c.Timeout = 5 * time.Second; c.ICMP = &ICMPOptions{Count: 9, RecordRTTs: true} }),
			"icmp.record_rtts", "icmp.record_rtts needs count ≤ 8 (16 phases per result); count is 9"},
		{"dns server", with(dns, func(c *CheckConfig) { c.DNS = nil }), "dns.server", "dns.server is missing (host:port of the resolver to ask)"},
		{"dns name", with(dns, func(c *CheckConfig) { c.Target = "http://portal" }), "target", `target "http://portal" is not a domain name`},
		{"dns rcode", with(dns, func(c *CheckConfig) { c.DNS = &DNSOptions{Server: "127.0.0.1:53", ValidRcodes: []string{"NOERR"}} }),
			"dns.valid_rcodes[0]", `dns.valid_rcodes[0] ("NOERR") is not a DNS rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cc.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *FieldError", err, err)
			}
			if fe.Field != tc.wantField || err.Error() != tc.wantErr {
				t.Errorf("field %q, error %q; want %q, %q", fe.Field, err.Error(), tc.wantField, tc.wantErr)
			}
			under := Under("services[3]", err)
			if !errors.As(under, &fe) || fe.Field != "services[3]."+tc.wantField || under.Error() != "services[3]."+tc.wantErr {
				t.Errorf("under services[3]: field %q, error %q", fe.Field, under)
			}
		})
	}
}

// TestValidateCAFileMissing: the cause of a ca_file that cannot be read
// stays an error errors.Is can see.
func TestValidateCAFileMissing(t *testing.T) {
	cc := CheckConfig{Name: "c", Kind: wire.KindTCP, Target: "127.0.0.1:993", Interval: time.Minute, Timeout: time.Second,
		TCP: &TCPOptions{TLS: true, TLSConfig: &TLSOptions{CAFile: "/no/such/ca.pem"}}}
	err := cc.Validate()
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "tcp.tls_config.ca_file: open /no/such/ca.pem") {
		t.Errorf("error %v, want tcp.tls_config.ca_file: open ... not exist", err)
	}
}

func TestUnderPlainError(t *testing.T) {
	if got := Under("checks[1]", errors.New("x is odd")).Error(); got != "checks[1].x is odd" {
		t.Errorf("Under a plain error = %q", got)
	}
}

func TestCheckConfigResolvePaths(t *testing.T) {
	cc := CheckConfig{HTTP: &HTTPOptions{TLS: &TLSOptions{CAFile: "ca.pem"}}}
	cc.ResolvePaths(func(p string) string { return filepath.Join("/etc/jangkau", p) })
	if got := cc.HTTP.TLS.CAFile; got != "/etc/jangkau/ca.pem" {
		t.Errorf("http.tls.ca_file = %q", got)
	}
	tc := CheckConfig{TCP: &TCPOptions{TLS: true}}
	tc.ResolvePaths(func(p string) string { return "x" + p }) // no tls_config: nothing to do, no panic
}

func TestApplyDefaults(t *testing.T) {
	cc := CheckConfig{Timeout: time.Second}
	cc.ApplyDefaults()
	if cc.Interval != DefaultCheckConfig.Interval || cc.Timeout != time.Second {
		t.Errorf("defaults applied as %s/%s", cc.Interval, cc.Timeout)
	}
	if o := (*ICMPOptions)(nil).WithDefaults(); o != DefaultICMPOptions {
		t.Errorf("nil icmp block = %+v", o)
	}
}
