//go:build unix

package boltfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrInUse is a file another process holds open for writing. It wraps
// bbolt's lock timeout, which callers already tell apart.
var ErrInUse = fmt.Errorf("boltfile: in use by another process: %w", bolterrors.ErrTimeout)

// lockForCheck takes the exclusive lock bbolt takes (flock on the file),
// so that no writer commits while Open reads the file, and returns its
// release. A missing file needs no lock.
func lockForCheck(path string, timeout time.Duration) (unlock func(), err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
			f.Close()
			if err == syscall.EWOULDBLOCK {
				return nil, ErrInUse
			}
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
