package lab

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// tun is an attached TUN device without packet information headers: each
// read is one IP packet the kernel routed into it, each write one packet
// the kernel receives from it.
//
// The descriptor stays blocking and each direction of the relay runs on
// its own locked OS thread: the kernel wakes a reader the moment a packet
// arrives and clock_nanosleep releases a held packet on time, where Go's
// poller and timers could add a millisecond or more on a busy machine.
type tun struct{ fd int }

// openTUN attaches to the existing TUN device name (made by `ip tuntap`).
func openTUN(name string) (*tun, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("attach tun %s: %w", name, err)
	}
	return &tun{fd: fd}, nil
}

func (t *tun) read(buf []byte) (int, error) {
	for {
		n, err := unix.Read(t.fd, buf)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func (t *tun) write(pkt []byte) error { _, err := unix.Write(t.fd, pkt); return err }

// close leaves the descriptor to the process's exit: a blocked read would
// not end on close anyway.
func (t *tun) close() {}

// lockThread pins the calling goroutine to its OS thread for good.
func lockThread() { runtime.LockOSThread() }

// sleepUntil sleeps on the OS thread until t (clock_nanosleep).
func sleepUntil(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := unix.NsecToTimespec(int64(d))
		if err := unix.Nanosleep(&ts, nil); err != unix.EINTR {
			return
		}
	}
}
