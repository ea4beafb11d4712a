package coverage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestLRUFillsOnceAndKeepsTheRecent(t *testing.T) {
	c := &lru[int, int]{maxEntries: 3, maxSize: 100}
	ctx := context.Background()
	var fills atomic.Int64
	fill := func(v int) func() (int, int, error) {
		return func() (int, int, error) { fills.Add(1); return v * 10, 1, nil }
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if v, err := c.get(ctx, 1, fill(1)); v != 10 || err != nil {
				t.Errorf("get 1 = %d, %v", v, err)
			}
		})
	}
	wg.Wait()
	if fills.Load() != 1 {
		t.Errorf("8 concurrent gets filled %d times, want 1", fills.Load())
	}
	for k := 2; k <= 4; k++ {
		c.get(ctx, k, fill(k))
	}
	if kept(c) != 3 {
		t.Errorf("%d entries kept, want 3", kept(c))
	}
	fills.Store(0)
	c.get(ctx, 4, fill(4)) // recent: kept
	c.get(ctx, 1, fill(1)) // the oldest: gone
	if fills.Load() != 1 {
		t.Errorf("%d fills for a kept and a dropped key, want 1", fills.Load())
	}

	// Size bound: an entry of size 60 and one of 50 do not fit in 100.
	s := &lru[int, int]{maxEntries: 10, maxSize: 100}
	s.get(ctx, 1, func() (int, int, error) { return 1, 60, nil })
	s.get(ctx, 2, func() (int, int, error) { return 2, 50, nil })
	if kept(s) != 1 {
		t.Errorf("size bound: %d entries kept, want 1", kept(s))
	}
}

func TestLRUDropsFailuresAndReplacedKeys(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	c := &lru[[2]int, int]{maxEntries: 10, maxSize: 10,
		replaces: func(k, old [2]int) bool { return k[0] == old[0] }}
	if _, err := c.get(ctx, [2]int{1, 1}, func() (int, int, error) { return 0, 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if v, err := c.get(ctx, [2]int{1, 1}, func() (int, int, error) { return 7, 1, nil }); v != 7 || err != nil {
		t.Errorf("after a failed fill: %d, %v; want a fresh fill", v, err)
	}
	c.get(ctx, [2]int{2, 1}, func() (int, int, error) { return 8, 1, nil })
	c.get(ctx, [2]int{1, 2}, func() (int, int, error) { return 9, 1, nil }) // replaces {1, 1}
	if kept(c) != 2 {
		t.Errorf("%d entries, want 2 (the replaced one gone)", kept(c))
	}
}

// kept is the number of entries c keeps.
func kept[K comparable, V any](c *lru[K, V]) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// A fill that panics still ends its entry: a request waiting for it gets
// an error at once, not at its deadline, and the next request fills anew.
func TestLRUFillPanicEndsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &lru[int, int]{maxEntries: 3, maxSize: 100}
		release := make(chan struct{})
		repanicked := make(chan any, 1)
		go func() {
			defer func() { repanicked <- recover() }()
			c.get(context.Background(), 1, func() (int, int, error) { <-release; panic("fill broke") })
		}()
		synctest.Wait() // the first request fills, blocked on release
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var waited error
		waiting := make(chan struct{})
		go func() {
			defer close(waiting)
			_, waited = c.get(ctx, 1, func() (int, int, error) {
				t.Error("the waiter filled instead of waiting for the entry")
				return 0, 0, nil
			})
		}()
		synctest.Wait() // the second waits for the first's entry
		start := time.Now()
		close(release)
		<-waiting
		if !errors.Is(waited, errFillPanicked) || time.Since(start) > 0 {
			t.Errorf("waiter got %v after %s, want errFillPanicked at once", waited, time.Since(start))
		}
		if p := <-repanicked; p != "fill broke" {
			t.Errorf("the filling request's panic = %v, want it passed on", p)
		}
		if v, err := c.get(ctx, 1, func() (int, int, error) { return 7, 1, nil }); v != 7 || err != nil {
			t.Errorf("after the panic: get = %d, %v; want a fresh fill, 7", v, err)
		}
	})
}
