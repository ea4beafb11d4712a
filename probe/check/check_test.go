package check

import (
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
)

// TestConstructorDefaults: what a check leaves unset, its checker fills
// from checkspec's defaults.
func TestConstructorDefaults(t *testing.T) {
	c, err := newICMPChecker(checkspec.CheckConfig{Name: "plain-ping", Kind: wire.KindICMP, Target: "::1", Interval: 30 * time.Second, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if o := c.(*icmpChecker).o; o.Count != 5 || o.Interval != 200*time.Millisecond || o.Size != 56 {
		t.Errorf("icmp defaults = %+v", o)
	}
	h, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "d", Kind: wire.KindHTTP, Target: "http://127.0.0.1/"})
	if err != nil {
		t.Fatal(err)
	}
	if h.method != "GET" || h.maxRedirects != 10 || !h.validStatus(204) || h.validStatus(301) {
		t.Errorf("http defaults: method %s, max_redirects %d", h.method, h.maxRedirects)
	}
}

// TestNewKindsNoTypedNil: a constructor that refuses its config returns
// a nil Checker, not a nil pointer in a Checker.
func TestNewKindsNoTypedNil(t *testing.T) {
	kinds := NewKinds(testEnv.sockets)
	for _, kind := range kinds.Names() {
		c, err := kinds[kind](checkspec.CheckConfig{Name: "bad", Kind: kind, Target: "", Interval: time.Minute, Timeout: time.Second})
		if err == nil || c != nil {
			t.Errorf("%s with no target: checker %v, err %v; want nil and an error", kind, c, err)
		}
	}
}
