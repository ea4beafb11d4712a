package coverage

import (
	"context"
	"sync"
	"time"
)

// CachedSource remembers the rows src returns for each span for as long
// as gen returns the same value, which the store must change on every
// write that can change its rows (embedded.Store.Generation does). The
// region view, the tiles and the map page of one window then read the
// store once between writes.
//
// The rows are shared by every caller: fn must not change them (the
// engine only merges them into its own aggregates and reads them).
// Only the newest generation is kept, and at most maxCachedSpans spans.
//
// It keeps rows, and any write drops them all; NewGenerationSource with
// per-range stamps (embedded.Store.RollupGeneration) lets the engine keep
// its folds instead, a few thousand aggregates per window, and refold only
// what a write changed.
func CachedSource(src Source, gen func() uint64) Source {
	c := &rowCache{src: src, gen: gen, spans: map[spanKey]*cachedSpan{}}
	return c.read
}

const maxCachedSpans = 16

type spanKey struct {
	res      time.Duration
	from, to int64
}

type cachedSpan struct {
	once sync.Once
	rows rowSet
	err  error
}

type rowCache struct {
	src   Source
	gen   func() uint64
	mu    sync.Mutex
	at    uint64
	spans map[spanKey]*cachedSpan
}

func (c *rowCache) read(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
	// The generation is read before the rows: rows newer than it only
	// make an entry that the next generation drops anyway.
	g := c.gen()
	k := spanKey{res, from.UnixNano(), to.UnixNano()}
	c.mu.Lock()
	if g != c.at || len(c.spans) >= maxCachedSpans && c.spans[k] == nil {
		c.at, c.spans = g, map[spanKey]*cachedSpan{}
	}
	sp := c.spans[k]
	if sp == nil {
		sp = &cachedSpan{}
		c.spans[k] = sp
	}
	c.mu.Unlock()
	sp.once.Do(func() {
		sp.err = c.src(ctx, res, from, to, func(r Row) error {
			sp.rows.add(r)
			return nil
		})
	})
	if sp.err != nil {
		// Not kept: a cancelled request must not fail the next one.
		c.mu.Lock()
		if c.spans[k] == sp {
			delete(c.spans, k)
		}
		c.mu.Unlock()
		return sp.err
	}
	for r := range sp.rows.all() {
		if err := fn(*r); err != nil {
			return err
		}
	}
	return nil
}
