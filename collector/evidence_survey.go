package collector

import (
	"context"
	"sync"
	"time"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
)

// Survey passes are drawn from the raw results that carry a location, and
// a day of raw results is millions of rows (a raw scan runs at about 160k
// rows/s): so the survey points of each whole hour of a window are kept,
// stamped by the store's rollup generation of that hour, which changes
// when a result lands in it (a late batch from a probe's spool too). A
// repeat scans only the window's partial first and last hours. A store
// without generations (InfluxDB) is scanned whole every time.

// surveyPoint is a located result as the evidence views keep it.
type surveyPoint struct {
	evidence.SurveyPoint
	service string
}

type surveyHour struct {
	gen    uint64
	points []surveyPoint
}

// surveyCache keeps the survey points of whole hours.
type surveyCache struct {
	mu    sync.Mutex
	hours map[time.Time]surveyHour
}

// maxSurveyHours bounds the hours kept: a month and a day.
const maxSurveyHours = 31*24 + 24

// surveyPoints are the located results of [from, to) with their probe's
// carrier.
func (s *Server) surveyPoints(ctx context.Context, from, to time.Time) ([]surveyPoint, error) {
	gen, stamped := s.store.(interface {
		RollupGeneration(res time.Duration, from, to time.Time) uint64
	})
	var out []surveyPoint
	scan := func(from, to time.Time) ([]surveyPoint, error) {
		var pts []surveyPoint
		err := s.store.Scan(ctx, from, to, func(rec store.Record) error {
			if rec.Location == nil {
				return nil
			}
			carrier := ""
			if p := s.probes.byID[rec.Probe]; p != nil {
				carrier = p.Carrier
			}
			pts = append(pts, surveyPoint{SurveyPoint: evidence.SurveyPoint{Probe: rec.Probe, Carrier: carrier, Time: rec.Time,
				Lat: rec.Location.Lat, Lon: rec.Location.Lon, OK: rec.OK}, service: rec.Service})
			return nil
		})
		return pts, err
	}
	first := from.Truncate(rollup.Hour)
	if first.Before(from) {
		first = first.Add(rollup.Hour)
	}
	last := to.Truncate(rollup.Hour)
	if !stamped || !first.Before(last) {
		return scan(from, to)
	}
	if from.Before(first) {
		pts, err := scan(from, first)
		if err != nil {
			return nil, err
		}
		out = append(out, pts...)
	}
	c := s.evidenceView.surveys
	for h := first; h.Before(last); h = h.Add(rollup.Hour) {
		g := gen.RollupGeneration(rollup.Hour, h, h.Add(rollup.Hour)) // before the scan, as the engine does
		c.mu.Lock()
		kept, ok := c.hours[h]
		c.mu.Unlock()
		if !ok || kept.gen != g {
			pts, err := scan(h, h.Add(rollup.Hour))
			if err != nil {
				return nil, err
			}
			kept = surveyHour{gen: g, points: pts}
			c.mu.Lock()
			if c.hours == nil || len(c.hours) >= maxSurveyHours {
				c.hours = map[time.Time]surveyHour{} // start over rather than track use
			}
			c.hours[h] = kept
			c.mu.Unlock()
		}
		out = append(out, kept.points...)
	}
	if last.Before(to) {
		pts, err := scan(last, to)
		if err != nil {
			return nil, err
		}
		out = append(out, pts...)
	}
	return out, nil
}
