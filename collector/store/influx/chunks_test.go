package influx

import (
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
)

// TestChunkSpanCoversAnEdge: whichever span of a window's edge in an hour
// comes first (of those the engine asks for at once), the chunk it reads holds
// every span of that edge, and it reads fewer minutes than the hour when
// the edge is shorter by a block or more. The spans are cut as the engine
// cuts a window's minute edges at multiples of 10 minutes
// (coverage.segments): the leading edge [from, next boundary) and on to
// the hour's end; the trailing edge from the hour to the last boundary
// before its newest minute, then minute by minute.
func TestChunkSpanCoversAnEdge(t *testing.T) {
	h := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	blk := 10 * time.Minute
	sp := func(a, b time.Time) span { return span{a.UnixNano(), b.UnixNano()} }
	check := func(edge string, off int, firsts, spans []span, need time.Duration) {
		t.Helper()
		for _, first := range firsts {
			c := chunkSpan(h.UnixNano(), first)
			for _, s := range spans {
				if s.from < c.from || s.to > c.to {
					t.Errorf("%s at minute %d: chunk %v read for %v leaves out %v", edge, off, c, first, s)
				}
			}
			// A single minute may be the leading edge's first part, which
			// the rest of the hour follows: its chunk reads to the hour's
			// end (what a live window's trailing minutes do not have yet).
			if read := time.Duration(c.to - c.from); (read > need+2*blk && first.to-first.from > int64(rollup.Minute)) || read > time.Hour {
				t.Errorf("%s at minute %d: chunk for %v reads %s for an edge of %s", edge, off, first, read, need)
			}
		}
	}
	for off := 1; off < 60; off++ {
		f := h.Add(time.Duration(off) * time.Minute)
		// leading edge [f, h+1h)
		var lead []span
		c := f.Truncate(blk).Add(blk)
		if f.Truncate(blk).Before(f) && c.Before(h.Add(time.Hour)) {
			lead = append(lead, sp(f, c))
		} else {
			c = f
		}
		lead = append(lead, sp(c, h.Add(time.Hour)))
		check("leading edge", off, lead, lead, h.Add(time.Hour).Sub(f))
		// trailing edge [h, f)
		var trail []span
		last := f.Add(-rollup.Minute).Truncate(blk)
		at := h
		if last.After(h) {
			trail = append(trail, sp(h, last))
			at = last
		}
		for ; at.Before(f); at = at.Add(rollup.Minute) {
			trail = append(trail, sp(at, at.Add(rollup.Minute)))
		}
		// The older part is folded before the newest minutes (a layer
		// below them); the minutes come at once.
		firsts := trail
		if last.After(h) {
			firsts = trail[:1]
		}
		check("trailing edge", off, firsts, trail, f.Sub(h))
	}
}
