package check

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
)

// The ICMP API pings loopback without Administrator; RTT and loss fields
// are the Linux checker's.
func TestICMPAPIPingsLoopback(t *testing.T) {
	cc := checkspec.CheckConfig{Name: "loopback", Kind: wire.KindICMP, Target: "127.0.0.1", Timeout: 3 * time.Second,
		ICMP: &checkspec.ICMPOptions{Count: 3, Interval: 20 * time.Millisecond, DontFragment: true}}
	c, err := newICMPChecker(cc)
	if err != nil {
		t.Fatal(err)
	}
	r := runCheck(t, c, cc.Timeout)
	if !r.OK {
		t.Fatalf("ping 127.0.0.1 failed: %s (%s)", r.Error, r.ErrorClass)
	}
	if p := r.Phases; p["sent"] != 3 || p["received"] != 3 || p["loss"] != 0 {
		t.Errorf("sent %v received %v loss %v, want 3, 3, 0", p["sent"], p["received"], p["loss"])
	}
}

func TestICMPv6OnWindowsSaysWhatToUse(t *testing.T) {
	_, err := icmpSocketMode(true)
	if !errors.Is(err, errICMPv6Windows) || !strings.Contains(err.Error(), "icmp.ip_protocol: ip4") {
		t.Fatalf("icmpSocketMode(ipv6) = %v, want an error naming icmp.ip_protocol: ip4", err)
	}
}
