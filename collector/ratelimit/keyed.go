// Package ratelimit bounds request rates per key (a probe id, a partner
// name) with one token bucket each.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a set of token buckets, one per key, made when a key is first
// seen. Callers bound the keys (ids checked against the config before they
// get here), so the map is bounded too. The clock is the caller's: Allow
// takes now, so that tests need no sleeps.
type Keyed struct {
	every rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// New makes buckets that refill every tokens a second and hold burst
// (at least 1). every <= 0 means no limit: a config built in code without
// limits limits nothing.
func New(every float64, burst int) *Keyed {
	limit := rate.Limit(every)
	if every <= 0 {
		limit = rate.Inf
	}
	return &Keyed{every: limit, burst: max(burst, 1), m: map[string]*rate.Limiter{}}
}

func (k *Keyed) limiter(key string) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.m[key]
	if l == nil {
		l = rate.NewLimiter(k.every, k.burst)
		k.m[key] = l
	}
	return l
}

// Allow takes one token of key at now. When the bucket is empty it takes
// nothing and says how long until a token is there.
func (k *Keyed) Allow(key string, now time.Time) (bool, time.Duration) {
	r := k.limiter(key).ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// RetryAfterSeconds is the Retry-After value for a wait of d: whole
// seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
