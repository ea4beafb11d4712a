package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// The bbolt file format, version 2 (go.etcd.io/bbolt internal/common):
// a page starts with a 16-byte header (id, flags, count, overflow); pages
// 0 and 1 are meta pages that commits write in turn (txid % 2).
const (
	pageHeaderSize = 16
	elemSize       = 16 // branch and leaf elements alike
	metaSize       = 64
	metaSumOffset  = 56 // the checksum covers the meta up to itself

	boltMagic   = 0xED0CDAED
	boltVersion = 2

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10

	bucketLeafFlag = 0x01
)

// Meta is one meta page as read from the file.
type Meta struct {
	Page     int    // 0 or 1
	Err      error  // why it is invalid; nil when valid
	PageSize uint32 // bytes per page
	Root     uint64 // page of the root bucket
	Freelist uint64
	HWM      uint64 // high-water mark: pages in use, so the file must hold HWM*PageSize bytes
	Txid     uint64
}

// Header is what Preflight learnt of a file without mapping it.
type Header struct {
	Size  int64   // file size in bytes
	Metas [2]Meta // both meta pages
	Live  *Meta   // the one bbolt uses: the valid one with the higher txid
}

// NeedBytes is the size the live meta says the file has at least.
func (h *Header) NeedBytes() int64 {
	return int64(h.Live.HWM) * int64(h.Live.PageSize)
}

var errBadMagic = errors.New("not a bbolt meta page (bad magic)")

// parseMeta decodes a meta page from its first bytes.
func parseMeta(page int, b []byte) Meta {
	m := Meta{Page: page}
	if len(b) < pageHeaderSize+metaSize {
		m.Err = errors.New("cut short by the end of the file")
		return m
	}
	flags := binary.LittleEndian.Uint16(b[8:])
	d := b[pageHeaderSize : pageHeaderSize+metaSize]
	le := binary.LittleEndian
	m.PageSize = le.Uint32(d[8:])
	m.Root = le.Uint64(d[16:])
	m.Freelist = le.Uint64(d[32:])
	m.HWM = le.Uint64(d[40:])
	m.Txid = le.Uint64(d[48:])
	h := fnv.New64a()
	h.Write(d[:metaSumOffset])
	switch {
	case le.Uint32(d[0:]) != boltMagic:
		m.Err = errBadMagic
	case le.Uint32(d[4:]) != boltVersion:
		m.Err = fmt.Errorf("version %d, want %d", le.Uint32(d[4:]), boltVersion)
	case le.Uint64(d[metaSumOffset:]) != h.Sum64():
		m.Err = errors.New("checksum mismatch")
	case flags != flagMeta:
		m.Err = fmt.Errorf("page flags %#x, want meta", flags)
	case m.PageSize < 512 || m.PageSize > 1<<20 || m.PageSize&(m.PageSize-1) != 0:
		m.Err = fmt.Errorf("page size %d", m.PageSize)
	case m.HWM < 2 || m.Root >= m.HWM || m.Root < 2:
		m.Err = fmt.Errorf("root page %d outside the file's %d pages", m.Root, m.HWM)
	}
	return m
}

// Preflight reads the size and both meta pages of the bbolt file at path
// with ReadAt, never mapping it, and returns what it found. A missing or
// empty file is no error (Size 0, Live nil); a file that bbolt would
// refuse, map past its end (SIGBUS) or open at an older commit is one,
// with Header filled as far as it could be read.
func Preflight(path string) (*Header, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Header{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h := &Header{Size: fi.Size()}
	if h.Size == 0 {
		return h, nil
	}
	buf := make([]byte, pageHeaderSize+metaSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return h, err
	}
	h.Metas[0] = parseMeta(0, buf[:n])
	// Page 1 starts one page in: take the page size from meta 0 when it
	// is readable, else try the sizes bbolt uses.
	sizes := []int64{int64(os.Getpagesize()), 4096, 16384, 65536}
	if h.Metas[0].Err == nil {
		sizes = []int64{int64(h.Metas[0].PageSize)}
	}
	for i, ps := range sizes {
		n, err := f.ReadAt(buf, ps)
		if err != nil && !errors.Is(err, io.EOF) {
			return h, err
		}
		if m := parseMeta(1, buf[:n]); i == 0 || m.Err == nil {
			h.Metas[1] = m
			if m.Err == nil {
				break
			}
		}
	}
	for i := range h.Metas {
		m := &h.Metas[i]
		if m.Err == nil && (h.Live == nil || m.Txid > h.Live.Txid) {
			h.Live = m
		}
	}
	if h.Live == nil {
		return h, fmt.Errorf("both meta pages are invalid (page 0: %v; page 1: %v): the file is truncated or overwritten", h.Metas[0].Err, h.Metas[1].Err)
	}
	if h.Size < h.NeedBytes() {
		return h, fmt.Errorf("truncated: the file is %d bytes but its commit %d uses %d pages of %d bytes (%d bytes)",
			h.Size, h.Live.Txid, h.Live.HWM, h.Live.PageSize, h.NeedBytes())
	}
	return h, nil
}
