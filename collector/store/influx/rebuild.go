package influx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
)

// RebuildCommand is the command that recomputes rollups from raw points,
// named in the log when a database has raw points and no rollups.
const RebuildCommand = "jangkau store rollup-rebuild --config FILE"

// RebuildProgress is what RebuildRollups reports after each hour.
type RebuildProgress struct {
	Hour                     time.Time
	Done, Hours              int // hours done, of
	MinutePoints, HourPoints int // written for this hour
}

// rebuildSlice is how many minutes of raw points RebuildRollups holds at
// once (every probe's).
const rebuildSlice = 10 * time.Minute

// RebuildRollups recomputes the rollup points of [from, to) (widened to
// whole hours) from the raw points InfluxDB holds: for a database written
// before the store kept rollups, or after raw points were written by other
// means. The points are snapshots like a Write's (package doc, # Rollups),
// so it is safe while collectors write; it writes one change point per
// hour so that their kept folds follow. progress, if not nil, is called
// after each hour.
func (s *Store) RebuildRollups(ctx context.Context, from, to time.Time, progress func(RebuildProgress)) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	h0, h1 := from.Truncate(rollup.Hour), ceil(to, rollup.Hour)
	hours := int(h1.Sub(h0) / rollup.Hour)
	for i, h := 0, h0; h.Before(h1); i, h = i+1, h.Add(rollup.Hour) {
		p := RebuildProgress{Hour: h, Done: i + 1, Hours: hours}
		var minutes []int64
		for m := h; m.Before(h.Add(rollup.Hour)); m = m.Add(rollup.Minute) {
			minutes = append(minutes, m.UnixNano())
		}
		for sl := 0; sl < len(minutes); sl += int(rebuildSlice / rollup.Minute) {
			part := minutes[sl:min(len(minutes), sl+int(rebuildSlice/rollup.Minute))]
			mp, err := s.minutePoints(ctx, "", runs(part, rollup.Minute))
			if err != nil {
				return fmt.Errorf("influx: rebuild %s: read raw points: %w", h.Format(time.RFC3339), err)
			}
			if err := s.writePoints(ctx, measRollupMinute, mp); err != nil {
				return fmt.Errorf("influx: rebuild %s: write minute points: %w", h.Format(time.RFC3339), err)
			}
			p.MinutePoints += len(mp)
		}
		hp, err := s.hourPoints(ctx, "", []span{{h.UnixNano(), h.Add(rollup.Hour).UnixNano()}})
		if err != nil {
			return fmt.Errorf("influx: rebuild %s: read minute points: %w", h.Format(time.RFC3339), err)
		}
		if err := s.writePoints(ctx, measRollupHour, hp); err != nil {
			return fmt.Errorf("influx: rebuild %s: write hour points: %w", h.Format(time.RFC3339), err)
		}
		p.HourPoints = len(hp)
		if p.MinutePoints > 0 {
			line, k := s.appendChange(nil, minutes)
			if err := s.write.WriteRecord(ctx, string(line)); err != nil {
				return fmt.Errorf("influx: rebuild %s: write change point: %w", h.Format(time.RFC3339), err)
			}
			s.wroteOwn(minutes, k)
		}
		if progress != nil {
			progress(p)
		}
	}
	return nil
}

// OldestResult is the time of the oldest raw point, and false when there
// is none.
func (s *Store) OldestResult(ctx context.Context) (time.Time, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var t int64
	var found bool
	err := s.query(ctx, fmt.Sprintf("SELECT ok FROM %s ORDER BY time ASC LIMIT 1", measResult), false, func(_ int, sr *series) error {
		for _, v := range sr.Values {
			t, found = row{c: columnsOf(sr), v: v}.int("time"), true
		}
		return nil
	})
	return time.Unix(0, t).UTC(), found, err
}

// errNoRollups says a database has raw points and no rollups.
var errNoRollups = errors.New("raw results without rollups")

// checkRollups returns errNoRollups when the last window of raw points
// has no minute rollup point: a database written before the store kept
// rollups, whose results coverage does not show until RebuildRollups.
func (s *Store) checkRollups(ctx context.Context, window time.Duration) error {
	q := fmt.Sprintf(`SELECT ok FROM %s WHERE time > now() - %ds LIMIT 1; SELECT "count" FROM %s WHERE time > now() - %ds LIMIT 1`,
		measResult, int64(window/time.Second), measRollupMinute, int64(window/time.Second))
	var raw, rolled bool
	err := s.query(ctx, q, false, func(stmt int, sr *series) error {
		if len(sr.Values) > 0 {
			if stmt == 0 {
				raw = true
			} else {
				rolled = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if raw && !rolled {
		return errNoRollups
	}
	return nil
}

// ceil rounds t up to a multiple of d.
func ceil(t time.Time, d time.Duration) time.Time {
	if f := t.Truncate(d); f.Before(t) {
		return f.Add(d)
	}
	return t
}
