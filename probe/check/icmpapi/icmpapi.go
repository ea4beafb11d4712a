// Package icmpapi is the Windows ICMP API (IcmpCreateFile, IcmpSendEcho2
// in iphlpapi.dll), which golang.org/x/sys/windows does not wrap. It sends
// one echo request and waits for its reply, so a probe needs neither a
// raw socket (Administrator, and a firewall rule to let the replies in)
// nor a reader. Its reply structure is parsed here from bytes, so that
// the parsing is tested on every platform; the calls are in
// icmpapi_windows.go.
package icmpapi

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// ReplyLen is sizeof(ICMP_ECHO_REPLY) on windows/amd64 and arm64:
// Address, Status, RoundTripTime (4 bytes each), DataSize, Reserved (2
// each), the Data pointer (8) and IP_OPTION_INFORMATION (Ttl, Tos,
// Flags, OptionsSize, 4 bytes of padding and an 8-byte pointer).
const ReplyLen = 40

// StatusSuccess is IP_SUCCESS, the Status of a reply that came back.
const StatusSuccess = 0

// Reply is one ICMP_ECHO_REPLY.
type Reply struct {
	From   netip.Addr
	Status uint32
	RTT    time.Duration // whole milliseconds, as the API measures it
	Data   []byte        // the echoed payload, within the reply buffer
}

// ParseReply reads the first ICMP_ECHO_REPLY of buf, whose first byte
// is at address base: the structure's Data is a pointer into buf.
func ParseReply(buf []byte, base uintptr) (Reply, error) {
	if len(buf) < ReplyLen {
		return Reply{}, fmt.Errorf("icmpapi: ICMP_ECHO_REPLY of %d bytes, want at least %d", len(buf), ReplyLen)
	}
	le := binary.LittleEndian
	r := Reply{
		// IPAddr is the address in network order as it lies in memory.
		From:   netip.AddrFrom4([4]byte(buf[0:4])),
		Status: le.Uint32(buf[4:]),
		RTT:    time.Duration(le.Uint32(buf[8:])) * time.Millisecond,
	}
	size := uint64(le.Uint16(buf[12:]))
	if size == 0 {
		return r, nil
	}
	ptr := le.Uint64(buf[16:])
	if ptr < uint64(base) || ptr-uint64(base)+size > uint64(len(buf)) {
		return Reply{}, fmt.Errorf("icmpapi: ICMP_ECHO_REPLY data (%d bytes at %#x) lies outside its %d-byte buffer at %#x", size, ptr, len(buf), base)
	}
	off := ptr - uint64(base)
	r.Data = buf[off : off+size]
	return r, nil
}

// ReplyMessage makes the ICMPv4 echo reply that answers the echo request
// req (with its 8-byte header) with the payload data, as a socket would
// have read it: the API returns the payload alone.
func ReplyMessage(req, data []byte) []byte {
	const headerLen = 8
	msg := make([]byte, headerLen+len(data))
	// Type 0 (echo reply), code 0, checksum not set: nothing verifies it.
	copy(msg[4:headerLen], req[4:headerLen]) // identifier and sequence number
	copy(msg[headerLen:], data)
	return msg
}
