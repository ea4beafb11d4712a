package icmpapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	iphlpapi        = windows.NewLazySystemDLL("iphlpapi.dll")
	procCreateFile  = iphlpapi.NewProc("IcmpCreateFile")
	procCloseHandle = iphlpapi.NewProc("IcmpCloseHandle")
	procSendEcho2   = iphlpapi.NewProc("IcmpSendEcho2")
)

// ipOptionInformation is IP_OPTION_INFORMATION.
type ipOptionInformation struct {
	TTL, TOS, Flags, OptionsSize uint8
	OptionsData                  *byte
}

// ipFlagDF is IP_FLAG_DF: set don't-fragment.
const ipFlagDF = 0x2

// Handle is an open ICMP handle (IcmpCreateFile); SendEcho may be called
// on it from many goroutines at once.
type Handle struct{ h windows.Handle }

// Open returns a new ICMP handle, or an error naming the DLL call.
func Open() (*Handle, error) {
	if err := procCreateFile.Find(); err != nil {
		return nil, fmt.Errorf("icmpapi: %w", err)
	}
	r, _, err := procCreateFile.Call()
	if windows.Handle(r) == windows.InvalidHandle {
		return nil, fmt.Errorf("icmpapi: IcmpCreateFile: %w", err)
	}
	return &Handle{h: windows.Handle(r)}, nil
}

// Close closes the handle; no SendEcho may be running.
func (h *Handle) Close() error {
	if r, _, err := procCloseHandle.Call(uintptr(h.h)); r == 0 {
		return fmt.Errorf("icmpapi: IcmpCloseHandle: %w", err)
	}
	return nil
}

// SendEcho sends one echo request with payload data to the IPv4 address
// dst and waits up to timeoutMS for its reply, blocking its thread. A
// request that got no reply in time returns a Reply whose Status says
// why (11010, request timed out), not an error.
func (h *Handle) SendEcho(dst netip.Addr, data []byte, dontFragment bool, timeoutMS uint32) (Reply, error) {
	if !dst.Is4() {
		return Reply{}, fmt.Errorf("icmpapi: %s is not an IPv4 address", dst)
	}
	// Room for one reply, its data, and the 8 bytes of an ICMP error.
	buf := make([]byte, ReplyLen+len(data)+8+64)
	opts := ipOptionInformation{TTL: 128}
	if dontFragment {
		opts.Flags = ipFlagDF
	}
	a := dst.As4()
	var req *byte
	if len(data) > 0 {
		req = &data[0]
	}
	n, _, err := procSendEcho2.Call(uintptr(h.h), 0, 0, 0,
		uintptr(binary.LittleEndian.Uint32(a[:])), // IPAddr: the address bytes as they lie in memory
		uintptr(unsafe.Pointer(req)), uintptr(len(data)),
		uintptr(unsafe.Pointer(&opts)),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(timeoutMS))
	runtime.KeepAlive(data)
	runtime.KeepAlive(&opts)
	if n == 0 {
		// No reply: the error is an IP_STATUS such as IP_REQ_TIMED_OUT.
		var en windows.Errno
		if errors.As(err, &en) && en >= 11000 && en < 12000 {
			return Reply{From: dst, Status: uint32(en)}, nil
		}
		return Reply{}, fmt.Errorf("icmpapi: IcmpSendEcho2 to %s: %w", dst, err)
	}
	r, perr := ParseReply(buf, uintptr(unsafe.Pointer(&buf[0])))
	runtime.KeepAlive(buf)
	if perr != nil {
		return Reply{}, perr
	}
	return r, nil // r.Data is within buf, which only r holds now
}
