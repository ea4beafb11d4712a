//go:build !unix

package boltfile

import (
	"fmt"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrInUse is a file another process holds open for writing. It wraps
// bbolt's lock timeout, which callers already tell apart.
var ErrInUse = fmt.Errorf("boltfile: in use by another process: %w", bolterrors.ErrTimeout)

// lockForCheck does not lock where flock is missing: bbolt's own lock,
// taken next, still refuses a second writer.
func lockForCheck(string, time.Duration) (func(), error) { return func() {}, nil }
