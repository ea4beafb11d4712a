//go:build !linux

package probe

import (
	"os"
	"runtime"
)

// icmpSocketMode picks raw sockets for root and on Windows (which has no
// datagram ICMP), datagram sockets elsewhere (macOS allows them to every
// user). A socket that cannot be opened fails the run with pro-bing's
// own error.
func icmpSocketMode(bool) (privileged bool, err error) {
	return runtime.GOOS == "windows" || os.Geteuid() == 0, nil
}
