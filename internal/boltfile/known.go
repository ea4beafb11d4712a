package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The sidecar, <file>.known, remembers the newest commit this process
// saw and the file size it needed, so that Open can tell a file that
// lost commits (truncated, emptied, a meta page corrupted so that bbolt
// falls back to the previous commit) from a healthy one.
//
// It has two 64-byte slots 512 bytes apart (one disk sector each),
// written in turn like bbolt's meta pages, each with its own checksum:
// a torn write spoils one slot and the other, older one is read. It is
// written only after a commit returned (bbolt fsynced it), so it never
// claims more than the file holds: a crash at any moment leaves it at or
// behind the file, which is never refused for it. It is fsynced at most
// once a second and on Close, so a power cut can leave it a second
// behind, which only makes the check weaker for that second.
//
// CloseClean writes one more record, after the file is closed: clean,
// with the file's size and the modification time it stamped on it
// (clean.go). Open writes a record that is not clean before anything
// else writes the file, so a clean record is only ever the newest one
// between a clean close and the next open.
const (
	knownSlot      = 512
	knownMagicV1   = 0x4A4B4E31 // "JKN1": 32 bytes, txid and size
	knownMagic     = 0x4A4B4E32 // "JKN2": 64 bytes, also the clean close
	knownSumOffV1  = 24
	knownSumOff    = 56
	knownSyncEvery = time.Second

	markClean = 1 // flags: written by CloseClean
)

// KnownSuffix is appended to a bbolt file's path to name its sidecar.
const KnownSuffix = ".known"

// Mark is one sidecar record: a commit and the bytes it needed.
type Mark struct {
	Txid uint64
	Size uint64 // high-water mark in bytes (pages in use × page size)
	// Clean: the file was closed by CloseClean after this commit, which
	// wrote bbolt's freelist, and FileSize and ModTime are what the
	// file's size and modification time (unix nanoseconds) were then.
	Clean    bool
	FileSize int64
	ModTime  int64
}

func encodeMark(m Mark) []byte {
	b := make([]byte, 64)
	le := binary.LittleEndian
	le.PutUint32(b, knownMagic)
	if m.Clean {
		le.PutUint32(b[4:], markClean)
	}
	le.PutUint64(b[8:], m.Txid)
	le.PutUint64(b[16:], m.Size)
	le.PutUint64(b[24:], uint64(m.FileSize))
	le.PutUint64(b[32:], uint64(m.ModTime))
	h := fnv.New64a()
	h.Write(b[:knownSumOff])
	le.PutUint64(b[knownSumOff:], h.Sum64())
	return b
}

func decodeMark(b []byte) (Mark, bool) {
	le := binary.LittleEndian
	if len(b) < 32 {
		return Mark{}, false
	}
	sumOff := knownSumOff
	switch le.Uint32(b) {
	case knownMagicV1: // written before clean closes: never clean
		sumOff = knownSumOffV1
	case knownMagic:
		if len(b) < 64 {
			return Mark{}, false
		}
	default:
		return Mark{}, false
	}
	h := fnv.New64a()
	h.Write(b[:sumOff])
	if le.Uint64(b[sumOff:]) != h.Sum64() {
		return Mark{}, false
	}
	m := Mark{Txid: le.Uint64(b[8:]), Size: le.Uint64(b[16:])}
	if sumOff == knownSumOff && le.Uint32(b[4:])&markClean != 0 {
		m.Clean, m.FileSize, m.ModTime = true, int64(le.Uint64(b[24:])), int64(le.Uint64(b[32:]))
	}
	return m, true
}

// ReadKnown reads the sidecar at path. ok is false when it does not
// exist; err is set when it exists but neither slot is readable (it is
// then ignored, with a warning, never a reason to refuse the file).
func ReadKnown(path string) (m Mark, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Mark{}, false, nil
	}
	if err != nil {
		return Mark{}, false, err
	}
	for i := 0; i < 2; i++ {
		if i*knownSlot >= len(b) {
			break
		}
		// Of two slots with the same commit, the clean one was written
		// last (CloseClean after the last Note).
		if s, good := decodeMark(b[i*knownSlot:]); good && (!ok || s.Txid > m.Txid || s.Txid == m.Txid && s.Clean) {
			m, ok = s, true
		}
	}
	if !ok {
		return Mark{}, false, fmt.Errorf("sidecar %s: no readable record", path)
	}
	return m, true, nil
}

// Known keeps a file's sidecar up to date. Safe for concurrent use.
type Known struct {
	mu       sync.Mutex
	f        *os.File
	last     Mark
	slot     int
	lastSync time.Time
	opened   Opened
	log      *slog.Logger // of the Open that made it
}

// Opened says what Open checked before bbolt mapped the file.
func (k *Known) Opened() Opened { return k.opened }

func openKnown(path string, mode os.FileMode, start Mark) (*Known, error) {
	if mode == 0 {
		mode = 0o600
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, err
	}
	k := &Known{f: f, log: slog.Default()}
	// Both slots, so that a slot of an older file (a salvage replaced
	// it) never outranks this one.
	for i := 0; i < 2; i++ {
		if _, err := f.WriteAt(encodeMark(start), int64(i*knownSlot)); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	k.last, k.lastSync = start, time.Now()
	return k, nil
}

// Note records the newest commit of db after a commit returned. It is
// cheap (one small pwrite; an fsync at most once a second).
func (k *Known) Note(db *bolt.DB) error {
	var m Mark
	if err := db.View(func(tx *bolt.Tx) error {
		m = Mark{Txid: uint64(tx.ID()), Size: uint64(tx.Size())}
		return nil
	}); err != nil {
		return err
	}
	return k.note(m)
}

func (k *Known) note(m Mark) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.f == nil || m.Txid <= k.last.Txid {
		return nil
	}
	k.slot ^= 1
	if _, err := k.f.WriteAt(encodeMark(m), int64(k.slot*knownSlot)); err != nil {
		return err
	}
	k.last = m
	if time.Since(k.lastSync) >= knownSyncEvery {
		k.lastSync = time.Now()
		return k.f.Sync()
	}
	return nil
}

// Close notes db's last commit (db still open), syncs and closes the
// sidecar. db may be nil.
func (k *Known) Close(db *bolt.DB) error {
	var err error
	if db != nil {
		err = k.Note(db)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.f == nil {
		return err
	}
	err = errors.Join(err, k.f.Sync(), k.f.Close())
	k.f = nil
	return err
}
