package check

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// pingGroupRange is the sysctl that lets a group open unprivileged ICMP
// (datagram) sockets, for IPv4 and IPv6 alike.
const pingGroupRange = "/proc/sys/net/ipv4/ping_group_range"

// icmpSocketMode says which ICMP socket this process can open: a raw one
// (root or CAP_NET_RAW: "privileged", replies filtered to echo replies
// in the kernel and matched by identifier) or else a datagram one, allowed by ping_group_range. It
// opens and closes a socket of each kind it tries, which is the only
// sure test: capabilities and the sysctl can each say yes alone.
func icmpSocketMode(ipv6 bool) (privileged bool, err error) {
	family, proto := syscall.AF_INET, syscall.IPPROTO_ICMP
	if ipv6 {
		family, proto = syscall.AF_INET6, syscall.IPPROTO_ICMPV6
	}
	if fd, err := syscall.Socket(family, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, proto); err == nil {
		syscall.Close(fd)
		return true, nil
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, proto)
	if err == nil {
		syscall.Close(fd)
		return false, nil
	}
	return false, icmpPermissionError(err)
}

// icmpPermissionError tells the operator the one command that fixes it.
func icmpPermissionError(err error) error {
	rng := "unreadable"
	if b, rerr := os.ReadFile(pingGroupRange); rerr == nil {
		rng = strings.Join(strings.Fields(string(b)), " ")
	}
	return fmt.Errorf("icmp: cannot open an ICMP socket: not root, no CAP_NET_RAW, and net.ipv4.ping_group_range (%s) excludes gid %d (sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"): %w",
		rng, os.Getegid(), err)
}

// linuxEcho is an ICMP socket made with socket(2) so that its options
// are set before first use: SO_TIMESTAMPNS (the kernel stamps each reply
// on arrival, so an RTT does not include the reader's wake-up), the
// don't-fragment bit, and on raw sockets a filter that lets through only
// echo replies.
type linuxEcho struct {
	v6  bool
	raw *net.IPConn  // privileged
	dg  *net.UDPConn // unprivileged
	oob []byte
}

func openEchoConn(k echoKey) (echoConn, error) {
	family, proto, typ := syscall.AF_INET, syscall.IPPROTO_ICMP, syscall.SOCK_DGRAM
	if k.v6 {
		family, proto = syscall.AF_INET6, syscall.IPPROTO_ICMPV6
	}
	if k.privileged {
		typ = syscall.SOCK_RAW
	}
	fd, err := syscall.Socket(family, typ|syscall.SOCK_CLOEXEC, proto)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, icmpPermissionError(err)
		}
		return nil, fmt.Errorf("icmp: socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "icmp")
	defer f.Close() // FilePacketConn keeps a duplicate
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		return nil, fmt.Errorf("icmp: SO_TIMESTAMPNS: %w", err)
	}
	if k.dontFragment {
		level, opt := syscall.IPPROTO_IP, syscall.IP_MTU_DISCOVER
		if k.v6 {
			level, opt = syscall.IPPROTO_IPV6, syscall.IPV6_MTU_DISCOVER
		}
		if err := syscall.SetsockoptInt(fd, level, opt, syscall.IP_PMTUDISC_DO); err != nil {
			return nil, fmt.Errorf("icmp: dont_fragment: %w", err)
		}
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("icmp: %w", err)
	}
	c := &linuxEcho{v6: k.v6, oob: make([]byte, syscall.CmsgSpace(16))}
	switch pc := pc.(type) {
	case *net.IPConn:
		c.raw = pc
		err = filterEchoReplies(pc, k.v6)
	case *net.UDPConn:
		c.dg = pc
	default:
		err = fmt.Errorf("icmp: unexpected socket %T", pc)
	}
	if err != nil {
		pc.Close()
		return nil, err
	}
	return c, nil
}

// filterEchoReplies keeps every other ICMP message out of a raw socket,
// which would otherwise get a copy of all the host's ICMP traffic.
func filterEchoReplies(c *net.IPConn, v6 bool) error {
	if v6 {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		if err := ipv6.NewPacketConn(c).SetICMPFilter(&f); err != nil {
			return fmt.Errorf("icmp: ICMP6_FILTER: %w", err)
		}
		return nil
	}
	var f ipv4.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv4.ICMPTypeEchoReply)
	if err := ipv4.NewPacketConn(c).SetICMPFilter(&f); err != nil {
		return fmt.Errorf("icmp: ICMP_FILTER: %w", err)
	}
	return nil
}

func (c *linuxEcho) recv(b []byte) ([]byte, netip.Addr, time.Time, error) {
	var (
		n, oobn int
		ip      net.IP
		err     error
	)
	if c.raw != nil {
		var a *net.IPAddr
		n, oobn, _, a, err = c.raw.ReadMsgIP(b, c.oob)
		if a != nil {
			ip = a.IP
		}
	} else {
		var a *net.UDPAddr
		n, oobn, _, a, err = c.dg.ReadMsgUDP(b, c.oob)
		if a != nil {
			ip = a.IP
		}
	}
	if err != nil {
		return nil, netip.Addr{}, time.Time{}, err
	}
	msg := b[:n]
	if c.raw != nil && !c.v6 {
		// A raw IPv4 socket reads the IP header too (ReadMsgIP leaves
		// it, unlike ReadFrom).
		if n < 1 || n < int(b[0]&0x0f)<<2 {
			return nil, netip.Addr{}, time.Time{}, errors.New("icmp: short packet")
		}
		msg = b[int(b[0]&0x0f)<<2 : n]
	}
	from, _ := netip.AddrFromSlice(ip)
	return msg, from, rxStamp(c.oob[:oobn]), nil
}

// rxStamp is the kernel's SCM_TIMESTAMPNS, or now when there is none.
func rxStamp(oob []byte) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
				return time.Unix(sec, nsec)
			}
		}
	}
	return time.Now()
}

func (c *linuxEcho) send(msg []byte, dst *net.IPAddr) error {
	var err error
	if c.raw != nil {
		_, err = c.raw.WriteToIP(msg, dst)
	} else {
		_, err = c.dg.WriteToUDP(msg, &net.UDPAddr{IP: dst.IP, Zone: dst.Zone})
	}
	return err
}

func (c *linuxEcho) Close() error {
	if c.raw != nil {
		return c.raw.Close()
	}
	return c.dg.Close()
}
