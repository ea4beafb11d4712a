package probe

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// pingGroupRange is the sysctl that lets a group open unprivileged ICMP
// (datagram) sockets, for IPv4 and IPv6 alike.
const pingGroupRange = "/proc/sys/net/ipv4/ping_group_range"

// icmpSocketMode says which ICMP socket this process can open: a raw one
// (root or CAP_NET_RAW: "privileged", pro-bing filters replies by id in
// the kernel) or else a datagram one, allowed by ping_group_range. It
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
