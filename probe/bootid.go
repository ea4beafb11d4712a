package probe

import (
	"crypto/rand"
	"encoding/hex"
)

// newBootID is the boot_id of this process's batches (wire.Batch.BootID):
// random, so that a copy of this probe's config on another server sends
// another one and the collector can tell the two senders apart.
func newBootID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
