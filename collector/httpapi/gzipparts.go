package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"sync"

	"github.com/klauspost/compress/flate"
)

// An answer made of parts, each deflated on its own, is gzipped by
// joining the parts' deflate blocks into one member. A part is
// compressed with the bytes of the two parts before it as its
// dictionary (RFC 1951 lets a block refer back 32 KiB into what came
// before, whichever block it came from) and ends on a byte boundary (a
// sync flush), so its blocks are valid after those same bytes. The
// member's CRC-32 and length are those of the joined bytes; the last
// block is an empty final one. What stays the same from answer to
// answer (a region's outline) is compressed once, and only what changed
// is compressed again, with the parts right after it: RFC 1952 and RFC
// 1951 are all a reader needs, the same single member any gzip writer
// makes.

// part is a piece of an answer: its bytes, their deflate blocks and a
// digest that the answer's ETag is made of. The blocks may refer back
// into the bytes of the parts before: after names them.
type part struct {
	raw   []byte
	z     []byte   // raw deflated: non-final blocks ending on a byte boundary
	sum   [32]byte // sha256 of raw
	after precedent
}

// precedent names the parts a part's blocks were compressed after (their
// digests): the blocks are valid only after the same bytes.
type precedent [2][32]byte

// precedentOf is the precedent of a part that follows ps.
func precedentOf(ps parts) precedent {
	var c precedent
	if n := len(ps); n > 1 {
		c[0] = ps[n-2].sum
	}
	if n := len(ps); n > 0 {
		c[1] = ps[n-1].sum
	}
	return c
}

// dictOf is the bytes a part that follows ps may refer back to: the raw
// bytes of the last two, at most limit.
func dictOf(ps parts, limit int) []byte {
	var d []byte
	for i := max(0, len(ps)-2); i < len(ps); i++ {
		d = append(d, ps[i].raw...)
	}
	if len(d) > limit {
		d = d[len(d)-limit:]
	}
	return d
}

// newPart compresses raw to follow ps: large and lasting parts with a
// full compressor at the level every other answer is gzipped at, small
// and changing ones with the stateless one, which keeps no state to set
// up. Both refer back into the last two parts' bytes, which is where
// most of the likeness is (the neighbour's shared boundary, the names
// of the properties).
func newPart(raw []byte, ps parts, lasting bool) part {
	p := part{raw: raw, sum: sha256.Sum256(raw), after: precedentOf(ps)}
	var buf bytes.Buffer
	buf.Grow(len(raw)/3 + 16)
	if lasting {
		fw := deflaters.Get().(*flate.Writer)
		fw.ResetDict(&buf, dictOf(ps, 32<<10))
		fw.Write(raw)
		fw.Flush() // non-final, byte aligned
		fw.Reset(nil)
		deflaters.Put(fw)
	} else {
		flate.StatelessDeflate(&buf, raw, false, dictOf(ps, 8<<10))
	}
	p.z = buf.Bytes()
	return p
}

// reuse is p after ps: p itself when it was compressed after the same
// bytes, else p's bytes compressed again, with the stateless compressor:
// what comes after a changed part is compressed again on every answer
// while the part keeps changing.
func (p part) reuse(ps parts) part {
	if p.after == precedentOf(ps) {
		return p
	}
	return newPart(p.raw, ps, false)
}

var deflaters = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.DefaultCompression)
	return fw
}}

// parts is an answer in parts.
type parts []part

// plain is the answer's bytes.
func (ps parts) plain() []byte {
	n := 0
	for i := range ps {
		n += len(ps[i].raw)
	}
	out := make([]byte, 0, n)
	for i := range ps {
		out = append(out, ps[i].raw...)
	}
	return out
}

// gzip is the answer as one gzip member (RFC 1952): header, the parts'
// blocks, an empty final block, CRC-32 and length of the plain bytes.
func (ps parts) gzip() []byte {
	n := 10 + 2 + 8
	for i := range ps {
		n += len(ps[i].z)
	}
	out := make([]byte, 0, n)
	// ID1 ID2, CM deflate, no flags, no mtime, no extra flags, OS unknown:
	// what klauspost's and Go's gzip writers put there.
	out = append(out, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff)
	var crc uint32
	size := 0
	for i := range ps {
		out = append(out, ps[i].z...)
		crc = crc32.Update(crc, crc32.IEEETable, ps[i].raw)
		size += len(ps[i].raw)
	}
	out = append(out, 0x03, 0x00) // BFINAL, fixed Huffman, end of block
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, uint32(size))
}

// etag is a strong ETag of the plain bytes: a hash of the parts'
// digests, which names the bytes as surely as a hash of them and costs a
// hash of 32 bytes per part.
func (ps parts) etag() string {
	h := sha256.New()
	for i := range ps {
		h.Write(ps[i].sum[:])
	}
	return `"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18]) + `"`
}
