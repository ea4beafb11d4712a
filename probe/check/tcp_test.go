package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check/checktest"
	"github.com/jangkau/jangkau/wire"
)

func TestTCPChecker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	tests := []struct {
		name      string
		target    string
		dial      func(ctx context.Context, network, addr string) (net.Conn, error)
		wantOK    bool
		wantClass wire.ErrorClass
	}{
		{name: "open", target: ln.Addr().String(), wantOK: true},
		{name: "closed port", target: checktest.DeadAddr(t), wantClass: wire.ClassRefused},
		{name: "unreachable", target: "127.0.0.1:9", wantClass: wire.ClassUnreachable,
			dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}
			}},
		{name: "timeout", target: "127.0.0.1:9", wantClass: wire.ClassTimeout,
			dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				<-ctx.Done()
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newTCPChecker(checkspec.CheckConfig{Name: tc.name, Kind: wire.KindTCP, Target: tc.target})
			if err != nil {
				t.Fatal(err)
			}
			if tc.dial != nil {
				c.(*tcpChecker).dialContext = tc.dial
			}
			r := runCheck(t, c, 200*time.Millisecond)
			if r.OK != tc.wantOK || r.ErrorClass != tc.wantClass {
				t.Fatalf("got ok=%v class=%q (err %q), want ok=%v class=%q", r.OK, r.ErrorClass, r.Error, tc.wantOK, tc.wantClass)
			}
			if tc.wantOK && r.Phases["connect"] <= 0 {
				t.Errorf("connect phase = %v, want > 0", r.Phases["connect"])
			}
			if r.DurationMS <= 0 {
				t.Errorf("DurationMS = %v", r.DurationMS)
			}
		})
	}
}

// tlsListener accepts TLS connections with cert and completes their
// handshakes until the test ends.
func tlsListener(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestTCPCheckerTLS(t *testing.T) {
	pki := newTestPKI(t)
	now := time.Now()
	valid := tlsListener(t, pki.leaf(t, now.Add(-time.Hour), now.Add(10*24*time.Hour)))
	expired := tlsListener(t, pki.leaf(t, now.Add(-48*time.Hour), now.Add(-time.Hour)))
	tests := []struct {
		name      string
		target    string
		opts      *checkspec.TLSOptions
		wantClass wire.ErrorClass
		wantErr   string
	}{
		{name: "valid", target: valid, opts: &checkspec.TLSOptions{CAFile: pki.caFile}},
		{name: "server name", target: valid, opts: &checkspec.TLSOptions{CAFile: pki.caFile, ServerName: "portal.test"}},
		{name: "unknown CA", target: valid, wantClass: wire.ClassTLS},
		{name: "expired", target: expired, opts: &checkspec.TLSOptions{CAFile: pki.caFile}, wantClass: wire.ClassTLS, wantErr: "expired"},
		{name: "expired, not verified", target: expired, opts: &checkspec.TLSOptions{InsecureSkipVerify: true}},
		{name: "refused", target: checktest.DeadAddr(t), opts: &checkspec.TLSOptions{CAFile: pki.caFile}, wantClass: wire.ClassRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newTCPChecker(checkspec.CheckConfig{Name: tc.name, Kind: wire.KindTCP, Target: tc.target, TCP: &checkspec.TCPOptions{TLS: true, TLSConfig: tc.opts}})
			if err != nil {
				t.Fatal(err)
			}
			r := runCheck(t, c, 2*time.Second)
			if r.OK != (tc.wantClass == "") || r.ErrorClass != tc.wantClass || !strings.Contains(r.Error, tc.wantErr) {
				t.Fatalf("got ok=%v class=%q (err %q), want class %q and an error containing %q", r.OK, r.ErrorClass, r.Error, tc.wantClass, tc.wantErr)
			}
			if !r.OK {
				return
			}
			if r.Phases["connect"] <= 0 || r.Phases["tls"] <= 0 {
				t.Errorf("phases %v, want connect and tls > 0", r.Phases)
			}
			want := 10.0
			if tc.name == "expired, not verified" {
				want = 0
			}
			if d := r.Phases[CertExpiryPhase]; math.Abs(d-want) > 0.01 {
				t.Errorf("cert_expiry_days = %v, want %v", d, want)
			}
		})
	}
}

func TestTCPConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    checkspec.TCPOptions
		wantErr string
	}{
		{"tls_config without tls", checkspec.TCPOptions{TLSConfig: &checkspec.TLSOptions{}}, "tcp.tls_config is set but tcp.tls is false"},
		{"bad min version", checkspec.TCPOptions{TLS: true, TLSConfig: &checkspec.TLSOptions{MinVersion: "TLS9"}}, `tcp.tls_config.min_version "TLS9"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newTCPChecker(checkspec.CheckConfig{Name: "x", Kind: wire.KindTCP, Target: "127.0.0.1:443", TCP: &tc.opts})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name string
		err  error
		want wire.ErrorClass
	}{
		{"nil", nil, ""},
		{"deadline", context.DeadlineExceeded, wire.ClassTimeout},
		{"refused", op(syscall.ECONNREFUSED), wire.ClassRefused},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, wire.ClassDNS},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "x.invalid", IsTimeout: true}, wire.ClassTimeout},
		{"host unreachable", op(syscall.EHOSTUNREACH), wire.ClassUnreachable},
		{"net unreachable", op(syscall.ENETUNREACH), wire.ClassUnreachable},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, wire.ClassReset},
		{"closed before answering", &url.Error{Op: "Get", URL: "http://127.0.0.1/", Err: io.EOF}, wire.ClassReset},
		{"body cut short", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), wire.ClassReset},
		{"status", &statusError{code: 503, status: "503 Service Unavailable"}, wire.ClassStatus},
		{"body", &bodyError{pattern: "x", matched: true}, wire.ClassBody},
		{"dns answer", &dnsAnswerError{msg: "rcode SERVFAIL"}, wire.ClassDNS},
		{"icmp no reply", fmt.Errorf("icmp: no reply: %w", os.ErrDeadlineExceeded), wire.ClassTimeout},
		{"other", errors.New("boom"), wire.ClassOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Errorf("classify(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
