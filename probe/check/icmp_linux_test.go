package check

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// allowDatagramICMP makes sure this process may open datagram ICMP
// sockets: root widens net.ipv4.ping_group_range to its gid for the
// test and puts it back after; anyone else skips (or fails under CI).
func allowDatagramICMP(t *testing.T) {
	t.Helper()
	open := func() error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, syscall.IPPROTO_ICMP)
		if err == nil {
			syscall.Close(fd)
		}
		return err
	}
	err := open()
	if err == nil {
		return
	}
	if os.Geteuid() == 0 {
		old, rerr := os.ReadFile(pingGroupRange)
		if rerr == nil && os.WriteFile(pingGroupRange, []byte("0 0\n"), 0o644) == nil {
			t.Cleanup(func() { os.WriteFile(pingGroupRange, old, 0o644) })
			if err = open(); err == nil {
				return
			}
		}
	}
	msg := "needs net.ipv4.ping_group_range covering gid %d (or root, which sets it for the test): %v"
	testenv.Missing(t, msg, os.Getegid(), err)
}

// TestICMPUnprivileged runs the datagram-socket path that a probe not
// running as root takes, where ping_group_range allows it.
func TestICMPUnprivileged(t *testing.T) {
	allowDatagramICMP(t)
	c, err := newICMPChecker(checkspec.CheckConfig{Name: "x", Kind: wire.KindICMP, Target: "127.0.0.1", Timeout: 2 * time.Second,
		ICMP: &checkspec.ICMPOptions{Count: 2, Interval: 20 * time.Millisecond}})
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
