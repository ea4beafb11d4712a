package probe

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
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
		wantClass string
	}{
		{name: "open", target: ln.Addr().String(), wantOK: true},
		{name: "closed port", target: deadAddr(t), wantClass: ErrRefused},
		{name: "unreachable", target: "127.0.0.1:9", wantClass: ErrUnreachable,
			dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}
			}},
		{name: "timeout", target: "127.0.0.1:9", wantClass: ErrTimeout,
			dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				<-ctx.Done()
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newTCPChecker(CheckConfig{Name: tc.name, Kind: KindTCP, Target: tc.target})
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

func TestClassify(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"deadline", context.DeadlineExceeded, ErrTimeout},
		{"refused", op(syscall.ECONNREFUSED), ErrRefused},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, ErrDNS},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "x.invalid", IsTimeout: true}, ErrTimeout},
		{"host unreachable", op(syscall.EHOSTUNREACH), ErrUnreachable},
		{"net unreachable", op(syscall.ENETUNREACH), ErrUnreachable},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, ErrReset},
		{"status", &statusError{code: 503, status: "503 Service Unavailable"}, ErrStatus},
		{"other", errors.New("boom"), ErrOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Errorf("classify(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
