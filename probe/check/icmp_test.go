package check

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// needICMP skips when this process can open no ICMP socket for the
// family, saying what would let it, or fails in CI (testenv), where the
// tests run as root.
func needICMP(t *testing.T, ipv6 bool) {
	t.Helper()
	if _, err := icmpSocketMode(ipv6); err != nil {
		testenv.Missing(t, "needs root or net.ipv4.ping_group_range covering gid %d: %v", os.Getegid(), err)
	}
}

func TestICMPChecker(t *testing.T) {
	tests := []struct {
		name   string
		target string
		ipv6   bool
		opts   *checkspec.ICMPOptions
	}{
		{name: "ipv4 defaults", target: "127.0.0.1"},
		{name: "ipv4 record rtts", target: "127.0.0.1", opts: &checkspec.ICMPOptions{Count: 3, Interval: 20 * time.Millisecond, Size: 100, DontFragment: true, IPProtocol: "ip4", RecordRTTs: true}},
		{name: "ipv6", target: "::1", ipv6: true, opts: &checkspec.ICMPOptions{Count: 3, Interval: 20 * time.Millisecond, IPProtocol: "ip6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			needICMP(t, tc.ipv6)
			if tc.ipv6 {
				if ln, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
					testenv.Missing(t, "no IPv6 loopback: %v", err)
				} else {
					ln.Close()
				}
			}
			cc := checkspec.CheckConfig{Name: tc.name, Kind: wire.KindICMP, Target: tc.target, Timeout: 3 * time.Second, ICMP: tc.opts}
			c, err := newICMPChecker(cc)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r := runCheck(t, c, cc.Timeout)
			elapsed := time.Since(start)
			if !r.OK {
				t.Fatalf("ping %s failed: %s (%s)", tc.target, r.Error, r.ErrorClass)
			}
			count := float64(checkspec.DefaultICMPOptions.Count)
			if tc.opts != nil {
				count = float64(tc.opts.Count)
			}
			p := r.Phases
			if p["sent"] != count || p["received"] != count || p["loss"] != 0 {
				t.Errorf("sent %v received %v loss %v, want %v, %v, 0", p["sent"], p["received"], p["loss"], count, count)
			}
			if !(0 < p["rtt_min"] && p["rtt_min"] <= p["rtt_avg"] && p["rtt_avg"] <= p["rtt_max"] && p["rtt_max"] < 100) {
				t.Errorf("rtt min/avg/max = %v/%v/%v ms, want ordered, positive, small on loopback", p["rtt_min"], p["rtt_avg"], p["rtt_max"])
			}
			if r.DurationMS != p["rtt_avg"] {
				t.Errorf("DurationMS = %v, want the mean RTT %v", r.DurationMS, p["rtt_avg"])
			}
			if elapsed > 2*time.Second {
				t.Errorf("run took %s: it should end with the last reply", elapsed)
			}
			recorded := 0
			for name := range p {
				if strings.HasPrefix(name, "rtt_") && name[4] >= '0' && name[4] <= '9' {
					recorded++
				}
			}
			if want := map[bool]int{true: int(count)}[tc.opts != nil && tc.opts.RecordRTTs]; recorded != want {
				t.Errorf("%d rtt_<seq> phases, want %d (phases %v)", recorded, want, p)
			}
			if len(p) > 16 {
				t.Errorf("%d phases, the collector takes 16", len(p))
			}
		})
	}
}

func TestICMPSocketError(t *testing.T) {
	c, err := newICMPChecker(checkspec.CheckConfig{Name: "x", Kind: wire.KindICMP, Target: "127.0.0.1", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	noSocket := errors.New("icmp: cannot open an ICMP socket: test")
	calls := 0
	c.(*icmpChecker).sockMode = func(bool) (bool, error) { calls++; return false, noSocket }
	r := runCheck(t, c, 2*time.Second)
	if r.OK || r.ErrorClass != wire.ClassOther || !strings.Contains(r.Error, "cannot open an ICMP socket") {
		t.Errorf("got ok=%v class=%q err=%q, want the socket error, class other", r.OK, r.ErrorClass, r.Error)
	}
	runCheck(t, c, 2*time.Second)
	if calls != 2 {
		t.Errorf("socket mode tried %d times over 2 runs; a failure must not be cached", calls)
	}
}

func TestICMPResolve(t *testing.T) {
	needICMP(t, false)
	c, err := newICMPChecker(checkspec.CheckConfig{Name: "x", Kind: wire.KindICMP, Target: "gateway.test", Timeout: 2 * time.Second,
		ICMP: &checkspec.ICMPOptions{Count: 1, IPProtocol: "ip4"}})
	if err != nil {
		t.Fatal(err)
	}
	// A stand-in resolver: tests resolve no real names.
	c.(*icmpChecker).lookup = func(_ context.Context, host string) ([]net.IPAddr, error) {
		return []net.IPAddr{{IP: net.IPv6loopback}, {IP: net.IPv4(127, 0, 0, 1)}}, nil
	}
	r := runCheck(t, c, 2*time.Second)
	if !r.OK || r.Phases["received"] != 1 {
		t.Fatalf("got ok=%v err=%q phases %v", r.OK, r.Error, r.Phases)
	}
	if _, ok := r.Phases["resolve"]; !ok {
		t.Errorf("no resolve phase for a name: %v", r.Phases)
	}
}

func TestICMPConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		opts    *checkspec.ICMPOptions
		wantErr string
	}{
		{"port", "127.0.0.1:7", nil, `target "127.0.0.1:7" must be a host name or an IP address, without a port`},
		{"count", "127.0.0.1", &checkspec.ICMPOptions{Count: -1}, "icmp.count (-1) must be within 1..1000"},
		{"too long", "127.0.0.1", &checkspec.ICMPOptions{Count: 10, Interval: 200 * time.Millisecond}, "icmp.count (10) × icmp.interval (200ms) must be shorter than timeout (2s)"},
		{"size", "127.0.0.1", &checkspec.ICMPOptions{Size: 8}, "icmp.size (8) must be within 24..65507"},
		{"protocol", "127.0.0.1", &checkspec.ICMPOptions{IPProtocol: "ipx"}, `icmp.ip_protocol "ipx" is not ip4, ip6 or auto`},
		{"family", "::1", &checkspec.ICMPOptions{IPProtocol: "ip4"}, `target "::1" is not an address of icmp.ip_protocol ip4`},
		{"record rtts", "127.0.0.1", &checkspec.ICMPOptions{Count: 9, Interval: 10 * time.Millisecond, RecordRTTs: true}, "icmp.record_rtts needs count ≤ 8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newICMPChecker(checkspec.CheckConfig{Name: "x", Kind: wire.KindICMP, Target: tc.target, Timeout: 2 * time.Second, ICMP: tc.opts})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
