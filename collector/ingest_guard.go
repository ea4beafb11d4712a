package collector

import (
	"io"
	"sync/atomic"
)

// The two bounds of what decoding a batch may hold in memory. encoding/json
// (and jsontext, its v2) materialise each value whole before they look at
// it, so a 31 MiB string in one field used to become a 31 MiB buffer, a
// 31 MiB string and a 31 MiB rejection reason, per request. jsonGuard cuts
// every over-long string and number in the stream, before the decoder sees
// it; decodedBudget bounds the decoded bytes of all requests at once.

// Longest values the guard passes, in input bytes. A string may take six
// input bytes per byte it holds (\u0000 escapes), so the guard cuts at six
// times the field's limit: what it passes is long enough for check to
// reject with the real length, and never more.
const (
	escapeFactor = 6
	maxNumberLen = 64 // a float64 or uint64 in JSON takes at most 24
)

// fieldLimits are the longest string values, in bytes, of the fields of a
// batch and of its results; check and checkVersion use the same numbers.
// A string under any other key (an unknown field, a key itself, an array
// element) may be up to defaultStringLimit.
var fieldLimits = map[string]int{
	"check": 128, "service": 128, "target": 2048, "error": 4096, "error_class": 32,
	"kind": 16, "time": 64, "sent_at": 64, "probe": 128, "probe_version": 64,
}

const (
	defaultStringLimit = 4096
	keyLimit           = 128
)

// cut records a value the guard shortened.
type cut struct {
	at     int64  // offset, in the guard's output, of the value's first byte
	key    string // the object key the value belongs to; "" for a key or array element
	isKey  bool
	number bool
	n      int // its length in the input
	limit  int // the longest the field may be (bytes held, not input bytes)
}

// jsonGuard passes a JSON text through, shortening every string longer
// than escapeFactor × its field's limit and every number longer than
// maxNumberLen, and collapsing runs of whitespace between tokens, so that
// no single value the decoder buffers is larger than a legitimate one. It
// does not validate: the decoder behind it does. Each cut is recorded with
// its offset, which decodeBatch compares with the decoder's InputOffset to
// reject the one result it belongs to.
type jsonGuard struct {
	src  io.Reader
	out  int64 // bytes passed so far
	cuts []cut

	depth   int
	objBits uint64 // bit d: the container at depth d+1 is an object (up to depth 64)
	wantKey bool
	key     []byte // the last key read, if at most 32 bytes
	keyOK   bool

	inStr    bool
	isKey    bool
	strStart int64
	strLen   int
	limit    int // of the current string, in input bytes
	esc      int // bytes left in the current escape
	dropping bool

	space  bool // the last byte passed was whitespace between tokens
	numLen int  // length of the current number
}

func newJSONGuard(src io.Reader) *jsonGuard { return &jsonGuard{src: src, key: make([]byte, 0, 32)} }

// Read filters in place: the guard only ever drops bytes.
func (g *jsonGuard) Read(p []byte) (int, error) {
	for {
		n, err := g.src.Read(p)
		j := 0
		for i := 0; i < n; i++ {
			if g.pass(p[i]) {
				p[j] = p[i]
				j++
				g.out++
			}
		}
		if j > 0 || err != nil || n == 0 {
			return j, err
		}
	}
}

func (g *jsonGuard) inObject() bool {
	return g.depth >= 1 && g.depth <= 64 && g.objBits&(1<<(g.depth-1)) != 0
}

// pass says whether c goes through, and follows the structure.
func (g *jsonGuard) pass(c byte) bool {
	if g.inStr {
		return g.passString(c)
	}
	if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
		g.numLen = 0
		if g.space {
			return false
		}
		g.space = true
		return true
	}
	g.space = false
	if isNumberByte(c) {
		g.numLen++
		switch {
		case g.numLen < maxNumberLen:
			return true
		case g.numLen == maxNumberLen:
			g.cuts = append(g.cuts, cut{at: g.out - maxNumberLen + 1, key: g.valueKey(), number: true, n: g.numLen, limit: maxNumberLen})
			// End the number on a digit, so that it stays a number.
			if c < '0' || c > '9' {
				c = '0'
			}
			return true
		default:
			g.cuts[len(g.cuts)-1].n = g.numLen
			return false
		}
	}
	g.numLen = 0
	switch c {
	case '{', '[':
		if g.depth < 64 {
			if c == '{' {
				g.objBits |= 1 << g.depth
			} else {
				g.objBits &^= 1 << g.depth
			}
		}
		g.depth++
		g.wantKey = c == '{'
	case '}', ']':
		if g.depth > 0 {
			g.depth--
		}
		g.wantKey = false
	case ',':
		g.wantKey = g.inObject()
	case ':':
		g.wantKey = false
	case '"':
		g.inStr, g.isKey = true, g.wantKey && g.inObject()
		g.strStart, g.strLen, g.esc, g.dropping = g.out, 0, 0, false
		g.limit = escapeFactor * keyLimit
		if !g.isKey {
			g.limit = escapeFactor * g.fieldLimit()
		}
		if g.isKey {
			g.key, g.keyOK = g.key[:0], true
		}
	}
	return true
}

// passString follows a string's bytes after its opening quote.
func (g *jsonGuard) passString(c byte) bool {
	escBefore := g.esc
	if escBefore == 0 && c == '"' {
		g.inStr = false
		if g.isKey {
			g.wantKey = false
		}
		return true
	}
	switch {
	case escBefore == 1 && c == 'u':
		g.esc = 4
	case escBefore > 0:
		g.esc--
	case c == '\\':
		g.esc = 1
	}
	g.strLen++
	if g.dropping {
		g.cuts[len(g.cuts)-1].n = g.strLen
		return false
	}
	if g.strLen > g.limit && escBefore == 0 {
		// Cut before this byte, which starts a character: never inside
		// an escape.
		g.dropping = true
		g.cuts = append(g.cuts, cut{at: g.strStart, key: g.valueKey(), isKey: g.isKey, n: g.strLen, limit: g.limit / escapeFactor})
		if g.isKey {
			g.keyOK = false
		}
		return false
	}
	if g.isKey && g.keyOK {
		if len(g.key) < cap(g.key) {
			g.key = append(g.key, c)
		} else {
			g.keyOK = false
		}
	}
	return true
}

// valueKey is the key the value now starting belongs to, if it is an
// object member's.
func (g *jsonGuard) valueKey() string {
	if g.inStr && g.isKey || !g.inObject() || !g.keyOK {
		return ""
	}
	return string(g.key)
}

func (g *jsonGuard) fieldLimit() int {
	if !g.inObject() || !g.keyOK {
		return defaultStringLimit
	}
	if n, ok := fieldLimits[string(g.key)]; ok {
		return n
	}
	return defaultStringLimit
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// takeCuts returns the cuts of values that start before offset, and
// forgets them.
func (g *jsonGuard) takeCuts(offset int64) []cut {
	n := 0
	for n < len(g.cuts) && g.cuts[n].at < offset {
		n++
	}
	if n == 0 {
		return nil
	}
	out := g.cuts[:n:n]
	g.cuts = g.cuts[n:]
	return out
}

// decodedBudget bounds the decoded bytes held by all ingest requests at
// once (limits.max_decoded_in_flight_bytes). A request takes what it reads
// and gives it back when it is answered; one that would pass the bound is
// answered 503 with Retry-After, so that its probe keeps the batch and
// sends it again. The zero value is ready; max comes with each take.
type decodedBudget struct{ used atomic.Int64 }

func (b *decodedBudget) take(n, max int64) bool {
	if b.used.Add(n) > max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *decodedBudget) give(n int64) { b.used.Add(-n) }
