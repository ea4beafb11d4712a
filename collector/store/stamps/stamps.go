// Package stamps remembers, per rollup resolution and bucket, the store
// generation of the last write that changed a rollup row of the bucket, so
// that a reader can tell whether a range of buckets changed while writes go
// on elsewhere: a live window's running minute, an old hour that a probe's
// spool fills in late. Both stores stamp their writes here and answer
// RollupGeneration from it (coverage.NewGenerationSource).
//
// Pruning deletes whole buckets below a cutoff; rather than a stamp per
// deleted bucket it leaves a floor: every range that starts below the
// cutoff takes the pruning's generation, and stamps below it are dropped,
// so the map holds only the buckets still kept.
package stamps

import (
	"sync"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/wire"
)

// Stamps is safe for concurrent use.
type Stamps struct {
	mu    sync.RWMutex
	by    [2]map[int64]uint64 // minute, hour: bucket start (unix nanos) → generation
	floor [2]struct {
		below int64
		gen   uint64
	}
}

// New returns empty stamps: every range has generation 0.
func New() *Stamps {
	return &Stamps{by: [2]map[int64]uint64{{}, {}}}
}

// resIndex is the slot of a resolution, or -1.
func resIndex(res time.Duration) int {
	switch res {
	case rollup.Minute:
		return 0
	case rollup.Hour:
		return 1
	}
	return -1
}

// Wrote stamps gen on the minute and hour buckets of results.
func (s *Stamps) Wrote(gen uint64, results []wire.Result) {
	var minutes, hours []int64
	for i := range results {
		m := results[i].Time.Truncate(rollup.Minute).UnixNano()
		if n := len(minutes); n == 0 || minutes[n-1] != m {
			minutes = append(minutes, m)
		}
		h := results[i].Time.Truncate(rollup.Hour).UnixNano()
		if n := len(hours); n == 0 || hours[n-1] != h {
			hours = append(hours, h)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// max: a writer that took its generation first may stamp last.
	for _, m := range minutes {
		s.by[0][m] = max(s.by[0][m], gen)
	}
	for _, h := range hours {
		s.by[1][h] = max(s.by[1][h], gen)
	}
}

// WroteRange stamps gen on every minute bucket from first to last (unix
// nanos of minute starts, both included) and on the hours that hold them:
// what a store learns of another writer's change that names only its span.
func (s *Stamps) WroteRange(gen uint64, first, last int64) {
	first = time.Unix(0, first).Truncate(rollup.Minute).UnixNano()
	if last < first {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for m := first; m <= last; m += int64(rollup.Minute) {
		s.by[0][m] = max(s.by[0][m], gen)
	}
	for h := time.Unix(0, first).Truncate(rollup.Hour).UnixNano(); h <= last; h += int64(rollup.Hour) {
		s.by[1][h] = max(s.by[1][h], gen)
	}
}

// Pruned records that buckets of res before cutoff were deleted.
func (s *Stamps) Pruned(gen uint64, res time.Duration, cutoff time.Time) {
	i := resIndex(res)
	if i < 0 {
		return
	}
	c := cutoff.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.floor[i].below = max(s.floor[i].below, c)
	s.floor[i].gen = max(s.floor[i].gen, gen)
	for b := range s.by[i] {
		if b < c {
			delete(s.by[i], b)
		}
	}
}

// Get is the newest generation that changed a bucket of res in [from, to).
func (s *Stamps) Get(res time.Duration, from, to time.Time) uint64 {
	i := resIndex(res)
	if i < 0 {
		return 0
	}
	f, t := from.UnixNano(), to.UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var g uint64
	if f < s.floor[i].below {
		g = s.floor[i].gen
	}
	m := s.by[i]
	// Look each bucket of the range up, or go through the map when it
	// holds fewer.
	if step := int64(res); (t-f)/step < int64(len(m)) {
		for b := from.Truncate(res).UnixNano(); b < t; b += step {
			if b >= f {
				g = max(g, m[b])
			}
		}
		return g
	}
	for b, x := range m {
		if b >= f && b < t {
			g = max(g, x)
		}
	}
	return g
}
