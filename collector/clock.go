package collector

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ClockConfig bounds how far a result's time may be from the collector's
// clock (key clock:). The rule, checked per result against the collector's
// clock at receipt, with no correction by the probe's estimated offset:
//
//   - time more than max_ahead (default 5m) after the collector's clock:
//     rejected, field "time". A probe cannot have measured the future; 5
//     minutes leaves room for an unsynchronised but sane clock and the
//     batch's time in transit, and is far below anything that could pass
//     for a real measurement in a coverage window.
//   - time more than max_age (default 2160h, 90 days) before the
//     collector's clock: rejected, field "time". A probe's spool never
//     holds results that long, so such a time means a clock that was
//     never set (1970, 2000) or a probe restored from an old image, and
//     storing it would rewrite months-old coverage.
//
// A rejected result is settled: the probe forgets it and does not send it
// again, so a probe whose clock is wrong loses those results; the
// jangkau_probe_clock_offset_seconds gauge shows it coming.
type ClockConfig struct {
	MaxAhead time.Duration `yaml:"max_ahead"`
	MaxAge   time.Duration `yaml:"max_age"`
}

// DefaultClockConfig holds the defaults above. A zero field in a config
// means the default too, so a Config built in code without it works.
var DefaultClockConfig = ClockConfig{MaxAhead: 5 * time.Minute, MaxAge: 90 * 24 * time.Hour}

func (c *ClockConfig) validate() error {
	switch {
	case c.MaxAhead < 0 || (c.MaxAhead > 0 && c.MaxAhead < time.Second) || c.MaxAhead > 24*time.Hour:
		return fmt.Errorf("clock.max_ahead (%s) must be between 1s and 24h", c.MaxAhead)
	case c.MaxAge < 0 || (c.MaxAge > 0 && c.MaxAge < time.Hour) || c.MaxAge > 10*365*24*time.Hour:
		return fmt.Errorf("clock.max_age (%s) must be between 1h and 87600h (10 years)", c.MaxAge)
	}
	return nil
}

// bounds returns the oldest and newest result time accepted at now.
func (c ClockConfig) bounds(now time.Time) (oldest, newest time.Time) {
	ahead, age := c.MaxAhead, c.MaxAge
	if ahead == 0 {
		ahead = DefaultClockConfig.MaxAhead
	}
	if age == 0 {
		age = DefaultClockConfig.MaxAge
	}
	return now.Add(-age), now.Add(ahead)
}

// offsetWindow is how many recent batches an offset estimate looks at.
const offsetWindow = 8

// clockOffsets estimates each probe's clock offset from its batches.
//
// One batch gives sample = sent_at − received (the collector's clock when
// the request reached the handler). With the probe's true offset θ and the
// one-way delay d ≥ 0 (encoding, network, queueing): sample = θ − d. So a
// sample is a lower bound of θ: the probe is at least that far ahead, and
// at most -sample behind. The estimate is the largest sample of the last 8
// batches: the one with the least delay, hence the tightest bound (the
// minimum-delay filter of NTP, without a round trip to measure d). A mean
// or EWMA would mix in every queueing delay and bias the estimate towards
// "behind"; the maximum does not. Eight batches span seconds to minutes, in
// which drift is negligible, and a stepped clock shows after 8 batches.
type clockOffsets struct {
	mu     sync.Mutex
	probes map[string]*offsetRing
	desc   *prometheus.Desc
}

type offsetRing struct {
	samples [offsetWindow]time.Duration
	n, next int
}

func newClockOffsets() *clockOffsets {
	return &clockOffsets{
		probes: map[string]*offsetRing{},
		desc: prometheus.NewDesc("jangkau_probe_clock_offset_seconds",
			"Estimated clock offset of the probe (positive: ahead of the collector), the largest "+
				"sent_at minus receive time of its last 8 batches; it understates the offset by the one-way delay.",
			[]string{"probe"}, nil),
	}
}

// observe records one batch; a zero sentAt (an old probe) is ignored.
// probe ids come from the config, so the map is bounded.
func (c *clockOffsets) observe(probeID string, sentAt, received time.Time) {
	if sentAt.IsZero() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.probes[probeID]
	if r == nil {
		r = &offsetRing{}
		c.probes[probeID] = r
	}
	r.samples[r.next] = sentAt.Sub(received)
	r.next = (r.next + 1) % offsetWindow
	r.n = min(r.n+1, offsetWindow)
}

// estimate returns the probe's offset and whether any batch gave one.
func (c *clockOffsets) estimate(probeID string) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.probes[probeID]
	if r == nil || r.n == 0 {
		return 0, false
	}
	best := r.samples[0]
	for _, s := range r.samples[1:r.n] {
		best = max(best, s)
	}
	return best, true
}

// Describe implements prometheus.Collector.
func (c *clockOffsets) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *clockOffsets) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	ids := make([]string, 0, len(c.probes))
	for id := range c.probes {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		if d, ok := c.estimate(id); ok {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, d.Seconds(), id)
		}
	}
}
