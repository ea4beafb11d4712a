package check

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/jangkau/jangkau/probe/check/icmpapi"
)

// Windows has no datagram ICMP socket, and a raw one needs Administrator
// and a firewall rule before any reply reaches it (pro-bing's Windows
// support is such a raw socket). The probe pings through the ICMP API
// instead: IcmpSendEcho2 in iphlpapi.dll, which any user may call and
// which the firewall's default rules already let through, as ping.exe does.

// icmpSocketMode: the ICMP API needs no privilege, and the replies it
// returns are this handle's alone ("unprivileged": not matched by
// identifier). IPv6 is refused here, so the run fails naming what to do.
func icmpSocketMode(ipv6 bool) (privileged bool, err error) {
	if ipv6 {
		return false, errICMPv6Windows
	}
	return false, nil
}

// winEchoWait is how long one request waits for its reply: a reply later
// than that counts as lost, whatever the check's timeout.
const winEchoWait = 10 * time.Second

// winEchoInFlight bounds the requests waiting at once: each holds an OS
// thread in IcmpSendEcho2 until its reply or winEchoWait.
const winEchoInFlight = 256

// errICMPv6Windows says what to use instead of an IPv6 ping.
var errICMPv6Windows = errors.New("icmp over IPv6 is not supported on Windows yet (the ICMP API's Icmp6SendEcho2 is not wrapped): set icmp.ip_protocol: ip4 (with a host name) or an IPv4 target, or use a tcp check for this target")

// winEcho is an echoConn on the ICMP API: send starts a blocking
// IcmpSendEcho2 on its own goroutine, whose reply recv returns as the
// echo reply message a socket would have read.
type winEcho struct {
	h      *icmpapi.Handle
	df     bool
	slots  chan struct{}
	inbox  chan winReply
	closed chan struct{}

	mu       sync.Mutex
	isClosed bool
	calls    sync.WaitGroup // the requests in IcmpSendEcho2; Add under mu
}

type winReply struct {
	msg  []byte
	from netip.Addr
	at   time.Time
}

func openEchoConn(k echoKey) (echoConn, error) {
	if k.v6 {
		return nil, errICMPv6Windows
	}
	h, err := icmpapi.Open()
	if err != nil {
		return nil, fmt.Errorf("icmp: %w", err)
	}
	return &winEcho{h: h, df: k.dontFragment, slots: make(chan struct{}, winEchoInFlight),
		inbox: make(chan winReply, winEchoInFlight), closed: make(chan struct{})}, nil
}

func (c *winEcho) recv(b []byte) ([]byte, netip.Addr, time.Time, error) {
	select {
	case r := <-c.inbox:
		n := copy(b, r.msg)
		return b[:n], r.from, r.at, nil
	case <-c.closed:
		return nil, netip.Addr{}, time.Now(), net.ErrClosed
	}
}

// send starts the request msg (an ICMP echo request with its header)
// and returns at once; a reply arrives through recv, a failed request
// is dropped and counts as lost.
func (c *winEcho) send(msg []byte, dst *net.IPAddr) error {
	addr, ok := netip.AddrFromSlice(dst.IP)
	if !ok || !addr.Unmap().Is4() {
		return errICMPv6Windows
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		return net.ErrClosed
	}
	select {
	case c.slots <- struct{}{}:
	default:
		return fmt.Errorf("icmp: %d echo requests already wait for a reply through the Windows ICMP API: lower icmp.count or spread the icmp checks", winEchoInFlight)
	}
	c.calls.Add(1)
	go func() {
		defer func() { <-c.slots; c.calls.Done() }()
		r, err := c.h.SendEcho(addr.Unmap(), msg[icmpHeaderLen:], c.df, uint32(winEchoWait/time.Millisecond))
		at := time.Now() // the API's own RTT has whole milliseconds only
		if err != nil || r.Status != icmpapi.StatusSuccess {
			return
		}
		select {
		case c.inbox <- winReply{msg: icmpapi.ReplyMessage(msg, r.Data), from: r.From, at: at}:
		case <-c.closed:
		}
	}()
	return nil
}

// Close ends recv at once; the handle is closed when the last request
// waiting in IcmpSendEcho2 returns.
func (c *winEcho) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		return nil
	}
	c.isClosed = true
	close(c.closed)
	go func() {
		c.calls.Wait()
		c.h.Close()
	}()
	return nil
}
