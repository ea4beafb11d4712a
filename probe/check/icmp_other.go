//go:build !linux && !windows

package check

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
)

// icmpSocketMode picks raw sockets for root, datagram sockets for
// others (macOS allows them to every user). A socket that cannot be
// opened fails the run with the system's own error. Windows uses its
// ICMP API instead (icmp_windows.go).
func icmpSocketMode(bool) (privileged bool, err error) {
	return os.Geteuid() == 0, nil
}

// otherEcho is an ICMP socket from golang.org/x/net/icmp: no kernel
// receive stamps (the reader's clock is used) and no don't-fragment.
type otherEcho struct {
	c   *icmp.PacketConn
	raw bool
}

func openEchoConn(k echoKey) (echoConn, error) {
	if k.dontFragment {
		return nil, errors.New("icmp.dont_fragment is supported on Linux only")
	}
	network, addr := "udp4", "0.0.0.0"
	switch {
	case k.v6 && k.privileged:
		network, addr = "ip6:ipv6-icmp", "::"
	case k.v6:
		network, addr = "udp6", "::"
	case k.privileged:
		network = "ip4:icmp"
	}
	c, err := icmp.ListenPacket(network, addr)
	if err != nil {
		return nil, fmt.Errorf("icmp: %w", err)
	}
	return &otherEcho{c: c, raw: k.privileged}, nil
}

func (c *otherEcho) recv(b []byte) ([]byte, netip.Addr, time.Time, error) {
	n, a, err := c.c.ReadFrom(b)
	at := time.Now()
	if err != nil {
		return nil, netip.Addr{}, at, err
	}
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	from, _ := netip.AddrFromSlice(ip)
	return b[:n], from, at, nil
}

func (c *otherEcho) send(msg []byte, dst *net.IPAddr) error {
	var to net.Addr = dst
	if !c.raw {
		to = &net.UDPAddr{IP: dst.IP, Zone: dst.Zone}
	}
	_, err := c.c.WriteTo(msg, to)
	return err
}

func (c *otherEcho) Close() error { return c.c.Close() }
