package coverage

import (
	"context"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
)

// BlankLookback is how far back BlankSince looks for the start of a blank
// streak; an older streak reports the lookback's start.
const BlankLookback = 7 * 24 * time.Hour

// tally counts results of one key in one bucket.
type tally struct {
	count, ok, lossN uint64
	lossSum          float64
}

func (t *tally) blank(th Thresholds) bool {
	if t == nil || t.count == 0 {
		return false
	}
	if float64(t.ok)/float64(t.count) < th.BlankBelow {
		return true
	}
	return t.lossN > 0 && t.lossSum/float64(t.lossN) >= th.BlankLoss
}

// BlankSince says since when each key that keys gives a row has been
// blank: since the start of its current streak. Walking back from q.Now
// over hour rollups (at most BlankLookback), every hour with results that
// is blank (availability below blank_below, or mean loss at or above
// blank_loss) extends the streak, an hour without results neither extends
// nor breaks it, and the first hour that is not blank ends it. The
// streak's first hour is then refined to the minute the same way over
// minute rollups. q's carrier and service filters apply; the time returned
// is in UTC.
//
// Buckets are compared as instants: q.Now may carry any location (the
// collector's clock is local), the store's buckets are UTC.
func BlankSince(ctx context.Context, src Feed, th Thresholds, q Query, keys func(rollup.Cell) []string) (map[string]time.Time, error) {
	now := q.Now.UTC()
	read := func(res time.Duration, from, to time.Time) (map[string]map[int64]*tally, error) {
		m := map[string]map[int64]*tally{}
		err := readSpan(ctx, src, rollup.Span{From: from, To: to, Res: res}, q, func(r Row) error {
			for _, k := range keys(r.Cell) {
				if m[k] == nil {
					m[k] = map[int64]*tally{}
				}
				b := r.Bucket.UnixNano()
				t := m[k][b]
				if t == nil {
					t = &tally{}
					m[k][b] = t
				}
				t.count += r.Agg.Count
				t.ok += r.Agg.OK
				t.lossN += r.Agg.LossN
				t.lossSum += r.Agg.LossSum
			}
			return nil
		})
		return m, err
	}
	top := now.Truncate(time.Hour).Add(time.Hour)
	hours, err := read(rollup.Hour, top.Add(-BlankLookback), top)
	if err != nil {
		return nil, err
	}
	// The streak's first hour, per key; then minutes around it, read once
	// per distinct hour.
	byHour := map[time.Time][]string{}
	for k, buckets := range hours {
		start := now.Truncate(time.Hour)
		for h := start; !h.Before(top.Add(-BlankLookback)); h = h.Add(-time.Hour) {
			t := buckets[h.UnixNano()]
			if t == nil || t.count == 0 {
				continue
			}
			if !t.blank(th) {
				break
			}
			start = h
		}
		byHour[start] = append(byHour[start], k)
	}
	since := map[string]time.Time{}
	for h, ks := range byHour {
		minutes, err := read(rollup.Minute, h.Add(-time.Hour), h.Add(time.Hour))
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			since[k] = h
			for m := h.Add(time.Hour - time.Minute); !m.Before(h.Add(-time.Hour)); m = m.Add(-time.Minute) {
				t := minutes[k][m.UnixNano()]
				if t == nil || t.count == 0 {
					continue
				}
				if !t.blank(th) {
					break
				}
				since[k] = m
			}
		}
	}
	return since, nil
}
