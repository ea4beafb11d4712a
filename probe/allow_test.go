package probe

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check"
	"github.com/jangkau/jangkau/probe/check/checktest"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
)

func TestAllowMatching(t *testing.T) {
	a := AllowConfig{
		CIDRs: []string{"10.20.0.0/16", "2001:db8::/32", "127.0.0.1/32"},
		Hosts: []string{"*.bantenprov.go.id", "Portal.Example.ID", "192.0.2.7", "[2001:db8:ffff::1]"},
	}
	if err := a.validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want bool
	}{
		{"10.20.3.4", true},
		{"10.21.0.1", false},
		{"::ffff:10.20.0.9", true}, // IPv4-mapped is the IPv4 address
		{"2001:db8::53", true},
		{"[2001:db8::53]", true},
		{"2001:db9::1", false},
		{"fe80::1%eth0", false},
		{"192.0.2.7", true}, // an IP hosts entry admits that address
		{"192.0.2.8", false},
		{"127.0.0.1", true},
		{"127.0.0.2", false},
		{"dukcapil.bantenprov.go.id", true},
		{"a.b.BANTENPROV.go.id.", true},
		{"bantenprov.go.id", false}, // *. admits subdomains only
		{"evilbantenprov.go.id", false},
		{"portal.example.id", true},
		{"PORTAL.example.id.", true},
		{"www.portal.example.id", false},
		{"localhost", false}, // judged by name: never resolved
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			if got := a.allows(tc.host); got != tc.want {
				t.Errorf("allows(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}

func TestAllowTargets(t *testing.T) {
	a := AllowConfig{CIDRs: []string{"127.0.0.0/24"}, Hosts: []string{"*.example.id"}}
	if err := a.validate(); err != nil {
		t.Fatal(err)
	}
	cc := func(kind, target string) checkspec.CheckConfig {
		return checkspec.CheckConfig{Name: "c", Kind: kind, Target: target, Interval: time.Minute, Timeout: time.Second}
	}
	tests := []struct {
		name    string
		cc      checkspec.CheckConfig
		wantErr string
	}{
		{"http ip", cc(wire.KindHTTP, "http://127.0.0.1:8080/x"), ""},
		{"http name", cc(wire.KindHTTP, "https://portal.example.id/"), ""},
		{"http outside", cc(wire.KindHTTP, "http://10.0.0.1/"), `target "http://10.0.0.1/": host "10.0.0.1" is outside allow`},
		{"http userinfo trick", cc(wire.KindHTTP, "http://portal.example.id@10.0.0.1/"), `host "10.0.0.1"`},
		{"tcp", cc(wire.KindTCP, "127.0.0.9:22"), ""},
		{"tcp outside", cc(wire.KindTCP, "intranet.local:22"), `host "intranet.local"`},
		{"icmp bare host", cc(wire.KindICMP, "gw.example.id"), ""},
		{"icmp bare ipv6", cc(wire.KindICMP, "2001:db8::1"), `host "2001:db8::1"`},
		{"dns server inside", withDNS(cc(wire.KindDNS, "portal.example.id"), "127.0.0.53:53"), ""},
		{"dns server outside", withDNS(cc(wire.KindDNS, "portal.example.id"), "8.8.8.8:53"), `dns.server "8.8.8.8:53": host "8.8.8.8" is outside allow`},
		{"dns name outside", withDNS(cc(wire.KindDNS, "intranet.local"), "127.0.0.53:53"), `host "intranet.local"`},
		{"dns query_name inside", withQuery(cc(wire.KindDNS, "portal.example.id"), "127.0.0.53:53", "www.example.id"), ""},
		{"dns query_name outside", withQuery(cc(wire.KindDNS, "portal.example.id"), "127.0.0.53:53", "intranet.local"),
			`dns.query_name "intranet.local": host "intranet.local" is outside allow`},
		{"http proxy outside", withHTTP(cc(wire.KindHTTP, "http://127.0.0.1/"), checkspec.HTTPOptions{ProxyURL: "http://10.0.0.3:3128"}), `http.proxy_url "http://10.0.0.3:3128": host "10.0.0.3"`},
		{"http ca_file", withHTTP(cc(wire.KindHTTP, "https://127.0.0.1/"), checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{CAFile: "/etc/shadow"}}), "http.tls.ca_file names a file of the probe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.admitCentral(tc.cc)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestAllowConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		a       AllowConfig
		wantErr string
	}{
		{"cidr", AllowConfig{CIDRs: []string{"10.20.0.0/33"}}, `allow.cidrs[0] "10.20.0.0/33" is not a CIDR`},
		{"bare ip cidr", AllowConfig{CIDRs: []string{"10.0.0.0/8", "10.20.0.1"}}, `allow.cidrs[1] "10.20.0.1"`},
		{"wildcard inside", AllowConfig{Hosts: []string{"portal.*.id"}}, `allow.hosts[0] "portal.*.id" must be a host name`},
		{"bare wildcard", AllowConfig{Hosts: []string{"*"}}, `allow.hosts[0] "*"`},
		{"url", AllowConfig{Hosts: []string{"ok.id", "http://portal.id/"}}, `allow.hosts[1] "http://portal.id/"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.a.validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func withDNS(cc checkspec.CheckConfig, server string) checkspec.CheckConfig {
	cc.DNS = &checkspec.DNSOptions{Server: server}
	return cc
}

func withQuery(cc checkspec.CheckConfig, server, name string) checkspec.CheckConfig {
	cc.DNS = &checkspec.DNSOptions{Server: server, QueryName: name}
	return cc
}

func withHTTP(cc checkspec.CheckConfig, o checkspec.HTTPOptions) checkspec.CheckConfig {
	cc.HTTP = &o
	return cc
}

// With an allow list, a local check outside it stops the probe at start.
func TestNewRefusesLocalCheckOutsideAllow(t *testing.T) {
	cfg := &Config{
		ID: "p1", Collector: "http://127.0.0.1:1", Token: "tok",
		Spool:       spool.Config{Dir: t.TempDir(), MaxBytes: DefaultConfig.Spool.MaxBytes},
		Upload:      DefaultConfig.Upload,
		Concurrency: 1,
		Allow:       AllowConfig{CIDRs: []string{"127.0.0.1/32"}},
		Checks: []checkspec.CheckConfig{
			{Name: "a", Kind: wire.KindTCP, Target: "127.0.0.1:22", Interval: time.Minute, Timeout: time.Second},
			{Name: "b", Kind: wire.KindTCP, Target: "127.0.0.2:22", Interval: time.Minute, Timeout: time.Second},
		},
	}
	p, err := New(cfg, discard, nil)
	if err == nil {
		p.Close()
		t.Fatal("New succeeded")
	}
	if want := `checks[1].target "127.0.0.2:22": host "127.0.0.2" is outside allow`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}
}

// A central check may not make the probe read its files.
func TestAllowCentralRefusesFileOptions(t *testing.T) {
	m := map[string]any{"name": "x", "http": map[string]any{"tls": map[string]any{"ca_file": "/etc/shadow"}}}
	if got := fileKey("", m); got != "http.tls.ca_file" {
		t.Errorf("fileKey = %q, want http.tls.ca_file", got)
	}
	if got := fileKey("", map[string]any{"http": map[string]any{"ca_file": ""}}); got != "" {
		t.Errorf("fileKey of an empty path = %q, want none", got)
	}
}

// TestAllowGuardsRedirects: an allowed server redirects to one outside the
// allow list; the check fails and the second server is never contacted.
func TestAllowGuardsRedirects(t *testing.T) {
	near, outside := checktest.RedirectOutside(t, http.StatusFound)

	allow := AllowConfig{CIDRs: []string{"127.0.0.1/32"}}
	if err := allow.validate(); err != nil {
		t.Fatal(err)
	}
	sockets := check.NewSockets()
	defer sockets.Close()
	kinds := allow.kinds(sockets)
	c, err := kinds[wire.KindHTTP](checkspec.CheckConfig{Name: "r", Kind: wire.KindHTTP, Target: near.URL + "/", Interval: time.Minute, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := c.Run(ctx, slog.New(slog.DiscardHandler))
	if r.OK || !strings.Contains(r.Error, "outside allow") {
		t.Errorf("redirect outside allow: ok=%v error %q", r.OK, r.Error)
	}
	if n := outside.Load(); n != 0 {
		t.Errorf("the server outside allow got %d requests", n)
	}
}
