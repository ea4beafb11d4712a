package collector

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// probeLimits bounds each probe's ingest request rate with a token bucket
// per probe id (limits.probe_requests_per_second, limits.probe_burst).
// A probe draining a backlog sends batch after batch, so the default of 20
// requests/s with a burst of 40 is far above what a healthy probe needs
// (one batch per upload interval) and still far below what a runaway or a
// stolen token could cost the store. Buckets are made lazily; ids are
// checked against the config before they get here, so the map is bounded
// by the number of configured probes.
type probeLimits struct {
	every rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newProbeLimits(l LimitsConfig) *probeLimits {
	every, burst := rate.Limit(l.ProbeRequestsPerSecond), l.ProbeBurst
	if every <= 0 { // a Config built in code without limits: no limit
		every = rate.Inf
	}
	return &probeLimits{every: every, burst: max(burst, 1), m: map[string]*rate.Limiter{}}
}

func (p *probeLimits) limiter(id string) *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.m[id]
	if l == nil {
		l = rate.NewLimiter(p.every, p.burst)
		p.m[id] = l
	}
	return l
}

// allow takes one request of probe id at now. When the bucket is empty it
// takes nothing and says how long until a token is there.
func (p *probeLimits) allow(id string, now time.Time) (bool, time.Duration) {
	l := p.limiter(id)
	r := l.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retryAfterSeconds is the Retry-After value for a wait of d: whole
// seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
