package probe

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestICMPUnprivileged runs the datagram-socket path that a probe not
// running as root takes, where ping_group_range allows it.
func TestICMPUnprivileged(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, syscall.IPPROTO_ICMP)
	if err != nil {
		t.Skipf("needs net.ipv4.ping_group_range covering this gid: %v", err)
	}
	syscall.Close(fd)
	c, err := newICMPChecker(CheckConfig{Name: "x", Kind: KindICMP, Target: "127.0.0.1", Timeout: 2 * time.Second,
		ICMP: &ICMPOptions{Count: 2, Interval: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	c.(*icmpChecker).sockMode = func(bool) (bool, error) { return false, nil }
	r := runCheck(t, c, 2*time.Second)
	if !r.OK || r.Phases["received"] != 2 {
		t.Fatalf("got ok=%v err=%q phases %v", r.OK, r.Error, r.Phases)
	}
}

func TestICMPPermissionError(t *testing.T) {
	err := icmpPermissionError(syscall.EACCES)
	for _, want := range []string{"not root, no CAP_NET_RAW", "net.ipv4.ping_group_range (", "excludes gid ", `sysctl -w net.ipv4.ping_group_range="0 2147483647"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
