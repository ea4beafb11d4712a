package page

import (
	"context"
	"sort"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
)

// changeLevels are the levels whose changes are listed: kabupaten/kota
// and kecamatan, what a planner acts on (a province has one region, a
// desa list is too long to read).
var changeLevels = []int{2, 3}

// Change is a region whose status is not what it was in the period
// before.
type Change struct {
	Code, Name    string
	Level         int
	Before, After coverage.Status
}

// rank orders the statuses from worst to best; blank and silent are
// equally bad (both are in the page's "blank or silent"), and unmeasured
// has none: a region that was or is unmeasured did not change.
func rank(s coverage.Status) (int, bool) {
	switch s {
	case coverage.StatusBlank, coverage.StatusSilent:
		return 0, true
	case coverage.StatusDegraded:
		return 1, true
	case coverage.StatusGood:
		return 2, true
	}
	return 0, false
}

// Compare lists the regions of cur whose status is better or worse than
// in prev, by level then code. A region only one of them has, or that
// either left unmeasured, is in neither list.
func Compare(prev, cur []coverage.RegionCell) (better, worse []Change) {
	before := make(map[string]coverage.Status, len(prev))
	for _, c := range prev {
		before[c.Region.Code] = c.Status
	}
	for _, c := range cur {
		b, ok := before[c.Region.Code]
		if !ok {
			continue
		}
		rb, okb := rank(b)
		ra, oka := rank(c.Status)
		if !okb || !oka || ra == rb {
			continue
		}
		ch := Change{Code: c.Region.Code, Name: c.Region.Name, Level: c.Region.Level, Before: b, After: c.Status}
		if ra > rb {
			better = append(better, ch)
		} else {
			worse = append(worse, ch)
		}
	}
	for _, l := range [][]Change{better, worse} {
		sort.Slice(l, func(i, j int) bool {
			if l[i].Level != l[j].Level {
				return l[i].Level < l[j].Level
			}
			return l[i].Code < l[j].Code
		})
	}
	return better, worse
}

// Changes compares q's window with [prevFrom, prevTo) (same filters) at
// the kabupaten and kecamatan levels the regions have.
func (s *Page) Changes(ctx context.Context, q coverage.Query, prevFrom, prevTo time.Time) (better, worse []Change, err error) {
	prev := q
	prev.From, prev.To = prevFrom, prevTo
	for _, l := range changeLevels {
		if s.r.Regions().Level(l) == nil {
			continue
		}
		before, err := s.r.Engine().Regions(ctx, s.r.Rollups(), nil, l, prev)
		if err != nil {
			return nil, nil, err
		}
		after, err := s.r.Engine().Regions(ctx, s.r.Rollups(), nil, l, q)
		if err != nil {
			return nil, nil, err
		}
		b, w := Compare(before, after)
		better, worse = append(better, b...), append(worse, w...)
	}
	return better, worse, nil
}

// changeTexts writes changes as "Kab. Lebak (36.02, kabupaten/kota):
// blank spot → baik".
func changeTexts(cs []Change, t labels) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name + " (" + c.Code + ", " + t.levelName(c.Level) + "): " + t.Status[c.Before] + " → " + t.Status[c.After]
	}
	return out
}
