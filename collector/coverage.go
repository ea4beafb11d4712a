package collector

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo"
)

// coverageQuery selects the cells and the window of a coverage answer.
type coverageQuery struct {
	Level    int
	From, To time.Time
}

// RegionCoverage is one region's figures over a window.
type RegionCoverage struct {
	Region       *geo.Region
	Status       geo.Status
	Samples      int
	Availability float64
	// LatencyP50 and LatencyP95 are milliseconds over successful results;
	// NaN when there were none.
	LatencyP50, LatencyP95 float64
	Probes                 int
	LastSeen               time.Time
}

// cellAcc accumulates the results of one cell.
type cellAcc struct {
	samples, ok int
	latencies   []float64
	byKind      map[string][]float64
}

// coverage computes every region of q.Level. Results count for the region
// where they were measured: their own location in survey mode, else their
// probe's region; regions above the deepest level roll up by code prefix.
func (s *Server) coverage(ctx context.Context, q coverageQuery) ([]RegionCoverage, error) {
	regions := s.regions.Level(q.Level)
	if regions == nil {
		return nil, fmt.Errorf("level %d: the regions have levels %v", q.Level, s.regions.Levels())
	}
	states, err := s.store.Probes(ctx)
	if err != nil {
		return nil, err
	}
	lastSeen := map[string]time.Time{}
	for _, st := range states {
		lastSeen[st.ID] = st.LastSeen
	}
	accs := map[string]*cellAcc{}
	err = s.store.Scan(ctx, q.From, q.To, func(rec store.Record) error {
		p := s.probes.byID[rec.Probe]
		if p == nil {
			return nil // a probe since removed from the config
		}
		code := p.Region
		if l := rec.Location; l != nil {
			if r := s.regions.Locate(l.Lat, l.Lon); r != nil {
				code = r.Code
			}
		}
		cell := ancestorAt(code, q.Level)
		if cell == "" {
			return nil
		}
		a := accs[cell]
		if a == nil {
			a = &cellAcc{byKind: map[string][]float64{}}
			accs[cell] = a
		}
		a.samples++
		if rec.OK {
			a.ok++
			a.latencies = append(a.latencies, rec.DurationMS)
			a.byKind[rec.Kind] = append(a.byKind[rec.Kind], rec.DurationMS)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	type probeAcc struct {
		n    int
		last time.Time
	}
	probes := map[string]*probeAcc{}
	for _, p := range s.probes.list {
		cell := ancestorAt(p.Region, q.Level)
		if cell == "" {
			continue
		}
		pa := probes[cell]
		if pa == nil {
			pa = &probeAcc{}
			probes[cell] = pa
		}
		pa.n++
		if ls := lastSeen[p.ID]; ls.After(pa.last) {
			pa.last = ls
		}
	}
	now := s.now()
	out := make([]RegionCoverage, 0, len(regions))
	for _, r := range regions {
		rc := RegionCoverage{Region: r, LatencyP50: math.NaN(), LatencyP95: math.NaN()}
		p95ByKind := map[string]float64{}
		if a := accs[r.Code]; a != nil {
			for kind, ls := range a.byKind {
				slices.Sort(ls)
				p95ByKind[kind] = quantile(ls, 0.95)
			}
			rc.Samples = a.samples
			rc.Availability = float64(a.ok) / float64(a.samples)
			slices.Sort(a.latencies)
			rc.LatencyP50 = quantile(a.latencies, 0.5)
			rc.LatencyP95 = quantile(a.latencies, 0.95)
		}
		if pa := probes[r.Code]; pa != nil {
			rc.Probes, rc.LastSeen = pa.n, pa.last
		}
		rc.Status = s.cfg.Status.Classify(geo.CellStats{
			Probes: rc.Probes, Samples: rc.Samples, Availability: rc.Availability,
			LatencyP95: p95ByKind, Loss: math.NaN(), LastSeen: rc.LastSeen,
			Live: now.Sub(q.To) < s.cfg.Status.SilentAfter,
		}, now)
		out = append(out, rc)
	}
	return out, nil
}

// quantile is the nearest-rank quantile of sorted values, NaN when empty.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// parseCoverageQuery reads level and window (or from and to) with the
// defaults of the API: the deepest level, the last 15 minutes.
func (s *Server) parseCoverageQuery(r *http.Request) (coverageQuery, error) {
	v := r.URL.Query()
	q := coverageQuery{Level: s.regions.Deepest()}
	if l := v.Get("level"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || s.regions.Level(n) == nil {
			return q, fmt.Errorf("level %q: the regions have levels %v", l, s.regions.Levels())
		}
		q.Level = n
	}
	q.To = s.now()
	window := 15 * time.Minute
	if w := v.Get("window"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d <= 0 {
			return q, fmt.Errorf("window %q must be a positive duration like 15m or 24h", w)
		}
		window = d
	}
	q.From = q.To.Add(-window)
	if f, t := v.Get("from"), v.Get("to"); f != "" || t != "" {
		from, err1 := time.Parse(time.RFC3339, f)
		to, err2 := time.Parse(time.RFC3339, t)
		if err1 != nil || err2 != nil || !from.Before(to) {
			return q, fmt.Errorf("from %q and to %q must both be RFC 3339 times, from before to", f, t)
		}
		q.From, q.To = from, to
	}
	return q, nil
}

func (s *Server) handleCoverage(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseCoverageQuery(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	cov, err := s.coverage(r.Context(), q)
	if err != nil {
		s.storeFailed(w, "coverage", err)
		return
	}
	fc := geojson.NewFeatureCollection()
	for _, rc := range cov {
		fc.Append(coverageFeature(rc))
	}
	fc.ExtraMembers = geojson.Properties{
		"level": q.Level, "from": q.From.UTC().Format(time.RFC3339), "to": q.To.UTC().Format(time.RFC3339),
	}
	w.Header().Set("Content-Type", "application/geo+json")
	data, err := fc.MarshalJSON()
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Write(data)
}

func coverageFeature(rc RegionCoverage) *geojson.Feature {
	f := geojson.NewFeature(rc.Region.Geometry)
	f.ID = rc.Region.Code
	f.Properties = geojson.Properties{
		"code":           rc.Region.Code,
		"name":           rc.Region.Name,
		"level":          rc.Region.Level,
		"status":         string(rc.Status),
		"samples":        rc.Samples,
		"availability":   round(rc.Availability, 4),
		"latency_p50_ms": nullable(rc.LatencyP50),
		"latency_p95_ms": nullable(rc.LatencyP95),
		"probes":         rc.Probes,
		"last_seen":      nil,
	}
	if !rc.LastSeen.IsZero() {
		f.Properties["last_seen"] = rc.LastSeen.UTC().Format(time.RFC3339)
	}
	if rc.Region.PopulationKnown {
		f.Properties["population"] = rc.Region.Population
	}
	return f
}
