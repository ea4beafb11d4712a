package coverage

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// lru keeps the few most recently used values, each computed once even
// when many ask at the same time. It is a slice, most recent first: it
// holds a handful of entries, where a library's list and map would only
// add a dependency.
type lru[K comparable, V any] struct {
	mu      sync.Mutex
	entries []*lruEntry[K, V]
	// maxEntries and maxSize bound what is kept; size is the caller's
	// measure of an entry (cells), the newest entry is always kept.
	maxEntries, maxSize int
	// replaces says whether a new key makes an old one useless (the same
	// rows at an older stamp), so that it goes at once.
	replaces func(newKey, old K) bool
}

type lruEntry[K comparable, V any] struct {
	key  K
	done chan struct{}
	val  V
	err  error
	size int
}

// get returns k's value, computing it with fill when no entry has it.
// A failed fill is not kept: whoever waited for it fills on its own, so
// that one cancelled request does not fail the others.
func (c *lru[K, V]) get(ctx context.Context, k K, fill func() (V, int, error)) (V, error) {
	c.mu.Lock()
	for i, en := range c.entries {
		if en.key != k {
			continue
		}
		copy(c.entries[1:i+1], c.entries[:i])
		c.entries[0] = en
		c.mu.Unlock()
		select {
		case <-en.done:
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
		if en.err == nil {
			return en.val, nil
		}
		if errors.Is(en.err, errFillPanicked) {
			var zero V
			return zero, en.err
		}
		v, _, err := fill()
		return v, err
	}
	en := &lruEntry[K, V]{key: k, done: make(chan struct{})}
	c.entries = slices.DeleteFunc(c.entries, func(old *lruEntry[K, V]) bool {
		return c.replaces != nil && c.replaces(k, old.key)
	})
	c.entries = slices.Insert(c.entries, 0, en)
	c.mu.Unlock()

	// Settled in a deferred call, so that a fill that panics still ends
	// the entry: its waiters get errFillPanicked instead of waiting until
	// their deadline, and the panic goes on up to whoever recovers it.
	var (
		v    V
		size int
		err  = errFillPanicked
	)
	defer func() {
		c.mu.Lock()
		en.val, en.size, en.err = v, size, err
		if en.err != nil {
			c.entries = slices.DeleteFunc(c.entries, func(x *lruEntry[K, V]) bool { return x == en })
		} else {
			c.evictLocked()
		}
		c.mu.Unlock()
		close(en.done)
	}()
	v, size, err = fill()
	return v, err
}

// latest is the most recently used value, computed and not failed, of a
// key that match accepts.
func (c *lru[K, V]) latest(match func(K) bool) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, en := range c.entries {
		if !match(en.key) {
			continue
		}
		select {
		case <-en.done:
			if en.err == nil {
				return en.val, true
			}
		default:
		}
	}
	var zero V
	return zero, false
}

// errFillPanicked is what waiters for an entry get when its fill
// panicked: filling it again would likely panic again, in every waiter.
var errFillPanicked = errors.New("coverage: the computation this request waited for panicked")

// evictLocked drops the least recently used finished entries beyond the
// bounds; entries still being filled count no size yet and stay.
func (c *lru[K, V]) evictLocked() {
	size := 0
	keep := c.entries[:0]
	for i, en := range c.entries {
		if i > 0 && (len(keep) >= c.maxEntries || size+en.size > c.maxSize) {
			select {
			case <-en.done:
				continue
			default:
			}
		}
		size += en.size
		keep = append(keep, en)
	}
	clear(c.entries[len(keep):])
	c.entries = keep
}
