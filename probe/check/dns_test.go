package check

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check/checktest"
	"github.com/jangkau/jangkau/wire"
)

func TestDNSChecker(t *testing.T) {
	udp, tcp := checktest.DNSServer(t, "udp"), checktest.DNSServer(t, "tcp")
	no := false
	tests := []struct {
		name        string
		target      string
		opts        checkspec.DNSOptions
		timeout     time.Duration
		wantClass   wire.ErrorClass
		wantErr     string
		wantAnswers float64
	}{
		{name: "udp A", target: "portal.example", opts: checkspec.DNSOptions{Server: udp}, wantAnswers: 2},
		{name: "tcp A", target: "portal.example", opts: checkspec.DNSOptions{Server: tcp, Transport: "tcp"}, wantAnswers: 2},
		{name: "MX by query_name", target: "portal mail", opts: checkspec.DNSOptions{Server: udp, QueryName: "portal.example.", QueryType: "mx"}, wantAnswers: 1},
		{name: "answer matches", target: "portal.example", opts: checkspec.DNSOptions{Server: udp, FailIfNoneMatchesRegexp: []string{`IN\s+A\s+192\.0\.2\.11$`}}, wantAnswers: 2},
		{name: "answer does not match", target: "portal.example", opts: checkspec.DNSOptions{Server: udp, FailIfNoneMatchesRegexp: []string{`192\.0\.2\.99`}}, wantClass: wire.ClassDNS, wantErr: "no answer record matches"},
		{name: "nxdomain", target: "missing.example", opts: checkspec.DNSOptions{Server: udp}, wantClass: wire.ClassDNS, wantErr: "rcode NXDOMAIN"},
		{name: "nxdomain expected", target: "missing.example", opts: checkspec.DNSOptions{Server: tcp, Transport: "tcp", ValidRcodes: []string{"NXDOMAIN"}}},
		{name: "recursion desired refused", target: "norecurse.example", opts: checkspec.DNSOptions{Server: udp}, wantClass: wire.ClassDNS, wantErr: "REFUSED"},
		{name: "recursion not desired", target: "norecurse.example", opts: checkspec.DNSOptions{Server: udp, RecursionDesired: &no}, wantAnswers: 1},
		{name: "timeout", target: "slow.example", opts: checkspec.DNSOptions{Server: udp}, timeout: 100 * time.Millisecond, wantClass: wire.ClassTimeout},
		{name: "udp refused", target: "portal.example", opts: checkspec.DNSOptions{Server: deadUDPAddr(t)}, wantClass: wire.ClassRefused},
		{name: "tcp refused", target: "portal.example", opts: checkspec.DNSOptions{Server: checktest.DeadAddr(t), Transport: "tcp"}, wantClass: wire.ClassRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 2 * time.Second
			}
			c, err := newDNSChecker(checkspec.CheckConfig{Name: tc.name, Kind: wire.KindDNS, Target: tc.target, Timeout: timeout, DNS: &tc.opts})
			if err != nil {
				t.Fatal(err)
			}
			r := runCheck(t, c, timeout)
			if r.OK != (tc.wantClass == "") || r.ErrorClass != tc.wantClass || !strings.Contains(r.Error, tc.wantErr) {
				t.Fatalf("got ok=%v class=%q (err %q), want class %q and an error containing %q", r.OK, r.ErrorClass, r.Error, tc.wantClass, tc.wantErr)
			}
			if r.Target != tc.target || r.Kind != wire.KindDNS || r.DurationMS <= 0 {
				t.Errorf("result fields wrong: %+v", r)
			}
			if r.OK {
				if r.Phases["exchange"] <= 0 || r.Phases["exchange"] != r.DurationMS || r.Phases["answers"] != tc.wantAnswers {
					t.Errorf("phases %v (duration %v), want exchange = duration and %v answers", r.Phases, r.DurationMS, tc.wantAnswers)
				}
			}
		})
	}
}

// deadUDPAddr is a loopback UDP port where nothing listens.
func deadUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestDNSConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		opts    *checkspec.DNSOptions
		wantErr string
	}{
		{"no block", "portal.example", nil, "dns.server is missing"},
		{"server without port", "portal.example", &checkspec.DNSOptions{Server: "127.0.0.1"}, `dns.server "127.0.0.1" must be host:port`},
		{"target not a name", "http://portal.example/", &checkspec.DNSOptions{Server: "127.0.0.1:53"}, `target "http://portal.example/" is not a domain name`},
		{"query_name", "x", &checkspec.DNSOptions{Server: "127.0.0.1:53", QueryName: "a..b"}, `dns.query_name "a..b" is not a domain name`},
		{"query_type", "portal.example", &checkspec.DNSOptions{Server: "127.0.0.1:53", QueryType: "AAAAA"}, `dns.query_type "AAAAA" is not a DNS record type`},
		{"transport", "portal.example", &checkspec.DNSOptions{Server: "127.0.0.1:53", Transport: "quic"}, `dns.transport "quic" is not udp or tcp`},
		{"rcode", "portal.example", &checkspec.DNSOptions{Server: "127.0.0.1:53", ValidRcodes: []string{"NOERROR", "OOPS"}}, `dns.valid_rcodes[1] ("OOPS") is not a DNS rcode`},
		{"regexp", "portal.example", &checkspec.DNSOptions{Server: "127.0.0.1:53", FailIfNoneMatchesRegexp: []string{"("}}, `dns.fail_if_none_matches_regexp[0] ("(")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newDNSChecker(checkspec.CheckConfig{Name: "x", Kind: wire.KindDNS, Target: tc.target, Timeout: time.Second, DNS: tc.opts})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
