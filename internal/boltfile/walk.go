package boltfile

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
)

// Report is what Walk, Check or Salvage found in a file.
type Report struct {
	Header    *Header
	From      *Meta          // the meta page the walk started from
	Pages     int            // pages read
	Buckets   int            // buckets reached
	Records   int            // key/value pairs read (and kept, for Salvage)
	Orphans   int            // of which found on pages the tree no longer reached
	Rejected  int            // records read but refused by Salvage's keep
	ByBucket  map[string]int // records per top-level bucket
	BadPages  int            // pages that could not be read; their records are lost
	Bad       []string       // the first problems, for the operator
	Integrity []string       // bbolt's own consistency check (Check only)
}

const maxBad = 20

func (r *Report) bad(format string, args ...any) {
	r.BadPages++
	if len(r.Bad) < maxBad {
		r.Bad = append(r.Bad, fmt.Sprintf(format, args...))
	}
}

func (r *Report) badSummary() string {
	return fmt.Sprintf("%d corrupted page(s): %s", r.BadPages, strings.Join(r.Bad, "; "))
}

// Visit is called for every record Walk reads: bucket is the path of
// bucket names from the root. The slices are the walker's own and stay
// valid. An error stops the walk.
type Visit func(bucket [][]byte, key, value []byte) error

// Orphan says which bucket a record found on an unreachable leaf page
// belongs to (nil: none, skip it). See Walk.
type Orphan func(key, value []byte) (bucket [][]byte)

// Walk reads every page reachable from the file's live meta page with
// ReadAt and bounds checks, calling fn (which may be nil) for each
// record. A page that is unreadable (beyond the end of the file, not the
// page it should be, elements out of bounds) is skipped and reported, so
// that the records of every other page are still visited. It never
// maps the file and never panics on its content. With both meta pages
// invalid it walks from the meta page that still names a plausible root.
//
// When a page was lost and orphan is set, Walk then reads every leaf
// page that the tree did not reach (a truncated file loses its root
// pages first: bbolt writes a commit's new pages at the end) and visits
// the records orphan places in a bucket, once per key not visited
// already. Such a page may be a stale copy freed by a later commit, so
// orphan should only claim records that never change once written
// (results under their seq); they are counted in Report.Orphans.
func Walk(path string, fn Visit, orphan Orphan) (*Report, error) {
	h, perr := Preflight(path)
	if h == nil {
		return nil, perr
	}
	r := &Report{Header: h, ByBucket: map[string]int{}}
	m := h.Live
	if m == nil {
		for i := range h.Metas {
			x := &h.Metas[i]
			if x.PageSize >= 512 && x.PageSize <= 1<<20 && x.PageSize&(x.PageSize-1) == 0 && x.Root >= 2 &&
				int64(x.Root)*int64(x.PageSize) < h.Size && (m == nil || x.Txid > m.Txid) {
				m = x
			}
		}
		if m == nil {
			if h.Size == 0 {
				return r, nil
			}
			return r, fmt.Errorf("no meta page names a root: %w", perr)
		}
		r.bad("both meta pages invalid, walked from page %d's root %d", m.Page, m.Root)
	}
	f, err := os.Open(path)
	if err != nil {
		return r, err
	}
	defer f.Close()
	// A meta page that fails only its checksum (a bit flipped) may still
	// name the newest commit, whose pages are all in the file: walk from
	// it when every page it reaches reads, rather than lose that commit.
	for i := range h.Metas {
		x := &h.Metas[i]
		if x.Err != nil && x.Txid == m.Txid+1 && x.PageSize == m.PageSize && x.HWM >= 2 && x.Root >= 2 && x.Root < x.HWM {
			dry := &walker{f: f, r: &Report{ByBucket: map[string]int{}}, ps: int64(x.PageSize), hwm: x.HWM, seen: map[uint64]bool{}}
			if int64(x.HWM)*dry.ps <= h.Size && dry.tree(nil, x.Root, 0) == nil && dry.r.BadPages == 0 {
				m = x
				r.Bad = append(r.Bad, fmt.Sprintf("meta page %d is invalid (%v) but every page of its commit %d reads: walked from it", x.Page, x.Err, x.Txid))
			}
		}
	}
	r.From = m
	w := &walker{f: f, r: r, ps: int64(m.PageSize), hwm: m.HWM, seen: map[uint64]bool{}, fn: fn}
	if int64(w.hwm)*w.ps > h.Size {
		w.hwm = uint64(h.Size / w.ps) // truncated: pages past the end are reported as such
		r.bad("the file ends at page %d of %d: the pages past the end are lost", h.Size/w.ps, m.HWM)
	}
	if orphan != nil {
		w.keys = map[string]bool{}
	}
	if err = w.tree(nil, m.Root, 0); err != nil || orphan == nil || r.BadPages == 0 {
		return r, err
	}
	return r, w.orphans(orphan)
}

// orphans visits the records of the leaf pages the tree did not reach.
func (w *walker) orphans(orphan Orphan) error {
	le := binary.LittleEndian
	for id := uint64(2); id < w.hwm; id++ {
		if w.seen[id] {
			continue
		}
		p, err := w.read(id, 0)
		if err != nil || le.Uint16(p[8:]) != flagLeaf {
			continue
		}
		count := int(le.Uint16(p[10:]))
		if pageHeaderSize+count*elemSize > len(p) {
			continue
		}
		for i := 0; i < count; i++ {
			e := pageHeaderSize + i*elemSize
			eflags, pos, ks, vs := le.Uint32(p[e:]), uint64(le.Uint32(p[e+4:])), uint64(le.Uint32(p[e+8:])), uint64(le.Uint32(p[e+12:]))
			start := uint64(e) + pos
			if eflags&bucketLeafFlag != 0 || start+ks+vs > uint64(len(p)) {
				continue
			}
			k, v := p[start:start+ks:start+ks], p[start+ks:start+ks+vs:start+ks+vs]
			bucket := orphan(k, v)
			if len(bucket) == 0 || w.keys[keyOf(bucket, k)] {
				continue
			}
			w.keys[keyOf(bucket, k)] = true
			w.r.Records++
			w.r.Orphans++
			w.r.ByBucket[string(bucket[0])]++
			if w.fn != nil {
				if err := w.fn(bucket, k, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func keyOf(bucket [][]byte, k []byte) string {
	return joinPath(bucket) + "\x00" + string(k)
}

type walker struct {
	f    *os.File
	r    *Report
	ps   int64
	hwm  uint64
	seen map[uint64]bool
	fn   Visit
	bufs [][]byte        // page buffers by depth, without fn
	keys map[string]bool // bucket path and key of each record visited, for orphans
}

const maxDepth = 64

// read returns page id with its overflow pages, or why it cannot.
//
// Without a Visit nothing keeps a page after it was walked, so pages are
// read into one buffer per depth of the tree (an open reads 80 MiB in
// 4 KiB pages: allocating each doubled the walk's time).
func (w *walker) read(id uint64, depth int) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("page %d is outside pages 2..%d", id, w.hwm)
	}
	// One read for the page; a second for its overflow pages, if any.
	var b []byte
	if w.fn == nil {
		for len(w.bufs) <= depth {
			w.bufs = append(w.bufs, make([]byte, w.ps))
		}
		b = w.bufs[depth][:w.ps]
	} else {
		b = make([]byte, w.ps)
	}
	if n, err := w.f.ReadAt(b, int64(id)*w.ps); n < len(b) {
		return nil, fmt.Errorf("page %d is cut by the end of the file: %w", id, err)
	}
	if got := binary.LittleEndian.Uint64(b); got != id {
		return nil, fmt.Errorf("page %d holds the header of page %d (overwritten)", id, got)
	}
	overflow := uint64(binary.LittleEndian.Uint32(b[12:]))
	if id+overflow >= w.hwm {
		return nil, fmt.Errorf("page %d: %d overflow pages run past page %d", id, overflow, w.hwm)
	}
	if overflow > 0 {
		b = append(b, make([]byte, int64(overflow)*w.ps)...)
		if n, err := w.f.ReadAt(b[w.ps:], int64(id+1)*w.ps); n < len(b)-int(w.ps) {
			return nil, fmt.Errorf("page %d's overflow pages are cut by the end of the file: %w", id, err)
		}
	}
	w.r.Pages++
	return b, nil
}

// tree walks the page tree rooted at id.
func (w *walker) tree(bucket [][]byte, id uint64, depth int) error {
	if w.seen[id] {
		w.r.bad("page %d is reached twice (bucket %q)", id, joinPath(bucket))
		return nil
	}
	w.seen[id] = true
	p, err := w.read(id, depth)
	if err != nil {
		w.r.bad("bucket %q: %v", joinPath(bucket), err)
		return nil
	}
	return w.node(bucket, p, id, depth)
}

// node walks one branch or leaf page (or an inline bucket's page).
func (w *walker) node(bucket [][]byte, p []byte, id uint64, depth int) error {
	if depth > maxDepth {
		w.r.bad("bucket %q: page %d is nested %d deep", joinPath(bucket), id, depth)
		return nil
	}
	if len(p) < pageHeaderSize {
		w.r.bad("bucket %q: page %d is %d bytes", joinPath(bucket), id, len(p))
		return nil
	}
	flags := binary.LittleEndian.Uint16(p[8:])
	count := int(binary.LittleEndian.Uint16(p[10:]))
	if pageHeaderSize+count*elemSize > len(p) {
		w.r.bad("bucket %q: page %d claims %d elements, more than it holds", joinPath(bucket), id, count)
		return nil
	}
	le := binary.LittleEndian
	switch flags {
	case flagBranch:
		for i := 0; i < count; i++ {
			e := pageHeaderSize + i*elemSize
			if err := w.tree(bucket, le.Uint64(p[e+8:]), depth+1); err != nil {
				return err
			}
		}
	case flagLeaf:
		var bad int
		for i := 0; i < count; i++ {
			e := pageHeaderSize + i*elemSize
			eflags, pos, ks, vs := le.Uint32(p[e:]), uint64(le.Uint32(p[e+4:])), uint64(le.Uint32(p[e+8:])), uint64(le.Uint32(p[e+12:]))
			start := uint64(e) + pos
			if start+ks+vs > uint64(len(p)) {
				bad++
				continue
			}
			k, v := p[start:start+ks:start+ks], p[start+ks:start+ks+vs:start+ks+vs]
			if eflags&bucketLeafFlag != 0 {
				if err := w.bucket(bucket, k, v, depth); err != nil {
					return err
				}
				continue
			}
			w.r.Records++
			if w.keys != nil {
				w.keys[keyOf(bucket, k)] = true
			}
			if len(bucket) > 0 {
				w.r.ByBucket[string(bucket[0])]++
			}
			if w.fn != nil {
				if err := w.fn(bucket, k, v); err != nil {
					return err
				}
			}
		}
		if bad > 0 {
			w.r.bad("bucket %q: page %d: %d of %d elements point outside the page", joinPath(bucket), id, bad, count)
		}
	default:
		w.r.bad("bucket %q: page %d has flags %#x, not a branch or leaf page", joinPath(bucket), id, flags)
	}
	return nil
}

// bucket walks the sub-bucket named k whose header is v.
func (w *walker) bucket(parent [][]byte, k, v []byte, depth int) error {
	path := append(parent[:len(parent):len(parent)], k)
	if len(v) < 16 {
		w.r.bad("bucket %q: header is %d bytes", joinPath(path), len(v))
		return nil
	}
	w.r.Buckets++
	if root := binary.LittleEndian.Uint64(v); root != 0 {
		return w.tree(path, root, depth+1)
	}
	return w.node(path, v[16:], 0, depth+1) // inline bucket: its page follows the header
}

func joinPath(bucket [][]byte) string {
	s := make([]string, len(bucket))
	for i, b := range bucket {
		s[i] = string(b)
	}
	return strings.Join(s, "/")
}
