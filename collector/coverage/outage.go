package coverage

import (
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
)

// outageKey is one e-service in one bucket.
type outageKey struct {
	service string
	res     time.Duration
	bucket  int64
}

// outages finds the buckets in which an e-service failed from most of the
// regions that checked it: then the service is down at its end, and those
// results say nothing about the districts. A bucket is as fine as the rows
// allow: minutes at a window's edges, hours inside it; a one-minute outage
// inside a whole hour weighs 1/60 of that hour.
func (e *Engine) outages(rows rowSet) outageSet {
	type counts struct{ count, ok uint64 }
	per := map[outageKey]map[string]*counts{}
	for r := range rows.all() {
		if r.Cell.Service == rollup.Uplink || r.Cell.Service == "" {
			continue
		}
		k := outageKey{r.Cell.Service, r.Res, r.Bucket.UnixNano()}
		regions := per[k]
		if regions == nil {
			regions = map[string]*counts{}
			per[k] = regions
		}
		c := regions[r.Cell.Region]
		if c == nil {
			c = &counts{}
			regions[r.Cell.Region] = c
		}
		c.count += r.Agg.Count
		c.ok += r.Agg.OK
	}
	out := outageSet{}
	for k, regions := range per {
		if len(regions) < e.th.OutageMinRegions {
			continue
		}
		failed := 0
		for _, c := range regions {
			if float64(c.ok) < e.th.BlankBelow*float64(c.count) {
				failed++
			}
		}
		if float64(failed) >= e.th.OutageShare*float64(len(regions)) {
			out[k] = true
		}
	}
	return out
}

// outageSet holds the outage buckets of a window.
type outageSet map[outageKey]bool

// excludes says whether a row's results fall in an outage of its service.
func (o outageSet) excludes(r *Row) bool {
	return len(o) > 0 && o[outageKey{r.Cell.Service, r.Res, r.Bucket.UnixNano()}]
}
