package probe

import (
	"math"
	"time"
)

// progressEvery is how often a draining backlog is reported.
const progressEvery = 10 * time.Second

// progress tells an operator watching a link come back how long the
// backlog will take: while one drains it logs, about every 10 s, the
// results left, the rate at which the collector acknowledges them and the
// time left at that rate. Each window also sets
// jangkau_probe_upload_backlog_drain_rate, backlog or not, so that
// spool_results / drain_rate is the time to drain on a dashboard. Only
// the uploader's goroutine uses it.
type progress struct {
	every time.Duration

	windowStart time.Time
	removed     int // results the spool forgot in the window

	backlogSince   time.Time // zero: no backlog
	backlogRemoved int
}

// observe takes the outcome of one exchange begun at started; err is its
// error, if any. A batch cut by a bound (out.more) starts or continues a
// backlog, a batch that took everything ends it; a failure changes
// neither.
func (p *progress) observe(u *Uploader, started time.Time, out batchOutcome, err error) {
	now := time.Now()
	p.removed += out.removed
	if p.backlogSince.IsZero() && err == nil && out.more {
		p.backlogSince, p.backlogRemoved = started, 0
		u.log.Info("uploading a backlog", "results", u.spool.Len(), "oldest", u.spool.OldestTime())
	}
	if !p.backlogSince.IsZero() {
		p.backlogRemoved += out.removed
	}
	if elapsed := now.Sub(p.windowStart); elapsed >= p.every {
		rate := float64(p.removed) / elapsed.Seconds()
		u.metrics.drained(rate)
		if !p.backlogSince.IsZero() {
			remaining := u.spool.Len()
			u.log.Info("backlog draining", "remaining", remaining,
				"rate_per_s", math.Round(rate*10)/10, "eta", eta(remaining, rate))
		}
		p.windowStart, p.removed = now, 0
	}
	if !p.backlogSince.IsZero() && err == nil && !out.more {
		u.log.Info("backlog drained", "results", p.backlogRemoved, "took", now.Sub(p.backlogSince).Round(time.Second))
		p.backlogSince = time.Time{}
	}
}

// eta is the time to send remaining results at rate per second, or -1
// when nothing moves.
func eta(remaining int, rate float64) time.Duration {
	if rate <= 0 {
		return -1
	}
	return time.Duration(float64(remaining) / rate * float64(time.Second)).Round(time.Second)
}
