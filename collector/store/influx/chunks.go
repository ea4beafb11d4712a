package influx

import (
	"context"
	"sync"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
)

// Minute chunks. InfluxDB decodes a whole TSM block (up to 1,000 points
// of one series and field) for any point of it it reads, so a query of
// one minute of jangkau_rollup_1m costs about as much as a query of the
// hour: it decodes the cells of every series' block that holds the
// minute. The engine asks for a window's minute edges in several spans
// (the block before the newest, each newest minute, the leading edge
// cut at a block boundary), so a cold view paid that decoding once per
// span. Rollups at minute resolution therefore reads the whole hour a
// span lies in, once, and serves the hour's other spans from it while
// the store's stamps say nothing was written into them since.
//
// Validity: a chunk remembers the store's generation counter read before
// its query. Every stamp up to that value was given after its rollup
// points were written (wroteOwn, the change poll), so the query saw
// them; a span whose stamp is still at most that value is served from
// the chunk, any other is read afresh. Other collectors' writes show
// within one change poll, as in the engine's kept folds; when the change
// log cannot be read, nothing is served from chunks.

const (
	// chunkTTL is how long an hour's minute points are kept after
	// they were read: long enough for the spans of one view and of the
	// views a page asks for with it, short enough that they are not held
	// while nobody looks.
	chunkTTL = 20 * time.Second
	// maxChunks bounds the hours kept (a 24 h window has two minute edges).
	maxChunks = 4
)

// chunk is the minute points of one hour, as readPoints returns them.
type chunk struct {
	ready  chan struct{} // closed once points and err are set
	gen    uint64        // s.gen before the query
	read   time.Time
	span   span // the minutes read
	points map[pointKey]stored
	err    error
}

// chunks holds the kept hours of minute points by the hour's start.
type chunks struct {
	mu sync.Mutex
	by map[int64]*chunk
}

// minuteChunk returns the minute points of the hour h (unix ns) for the
// span sp inside it, from a kept chunk or one read now; ok is false when
// sp must be read afresh (written since, the change log unreadable, the
// chunk's read failed).
func (s *Store) minuteChunk(ctx context.Context, h int64, sp span) (points map[pointKey]stored, ok bool) {
	if err := s.poll(ctx); err != nil {
		return nil, false
	}
	s.chunks.mu.Lock()
	if s.chunks.by == nil {
		s.chunks.by = map[int64]*chunk{}
	}
	c := s.chunks.by[h]
	if c == nil {
		c = &chunk{ready: make(chan struct{}), gen: s.gen.Load(), read: time.Now()}
		s.evictChunk()
		s.chunks.by[h] = c
		s.chunks.mu.Unlock()
		c.span = chunkSpan(h, sp)
		c.points, c.err = s.readPoints(ctx, measRollupMinute, "", []span{c.span})
		close(c.ready)
		if c.err != nil {
			s.dropChunk(h, c)
		} else {
			time.AfterFunc(chunkTTL, func() { s.dropChunk(h, c) })
		}
	} else {
		s.chunks.mu.Unlock()
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, false
		}
	}
	if c.err != nil || sp.from < c.span.from || sp.to > c.span.to || s.stamps.Get(rollup.Minute, time.Unix(0, sp.from), time.Unix(0, sp.to)) > c.gen {
		return nil, false
	}
	return c.points, true
}

// chunkBlock is the engine's cut of a window's minute edges
// (coverage.blockMinutes): the spans of one edge meet at its multiples.
const chunkBlock = 10 * time.Minute

// chunkSpan is what a chunk of the hour h reads for the first span sp
// asked of it: the minutes the other spans of the same window edge ask
// too, guessed from how the engine cuts an edge, so that fewer minutes
// than the hour are read. From sp's block, or the block before when sp
// starts at a block boundary (the leading edge's second span, which may
// come first); to the hour's end, or for a span that ends inside the hour
// at a block boundary (the trailing edge's older part) to the next block
// (its newest minutes, asked one by one). A span outside it is read
// afresh.
func chunkSpan(h int64, sp span) span {
	blk, end := int64(chunkBlock), h+int64(rollup.Hour)
	from := sp.from - (sp.from-h)%blk
	if from == sp.from {
		from -= blk
	}
	to := end
	if sp.to < end && (sp.to-h)%blk == 0 && sp.from%blk == 0 {
		to = sp.to + blk
	}
	return span{max(from, h), min(to, end)}
}

// evictChunk drops the oldest chunk when maxChunks are kept (chunks.mu
// held).
func (s *Store) evictChunk() {
	if len(s.chunks.by) < maxChunks {
		return
	}
	var oldest int64
	var at time.Time
	for h, c := range s.chunks.by {
		if at.IsZero() || c.read.Before(at) {
			oldest, at = h, c.read
		}
	}
	delete(s.chunks.by, oldest)
}

// dropChunk forgets c if it is still the chunk of hour h.
func (s *Store) dropChunk(h int64, c *chunk) {
	s.chunks.mu.Lock()
	defer s.chunks.mu.Unlock()
	if s.chunks.by[h] == c {
		delete(s.chunks.by, h)
	}
}
