package evidence

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// Summarizer draws the summary of every desa (the deepest level of the
// regions) and of every tile at a zoom from the layers of a Store and
// jangkau's own measurements, by Combine's rule.
//
// Where each source lands:
//   - Podes rows on their desa, by code (dotted or BPS's ten digits);
//     onto a tile from the desa its centre lies in;
//   - Ookla's zoom-16 tiles on the desa their centre lies in, and on the
//     tile at the summarizer's zoom that holds them (none above zoom 16);
//     an Ookla layer says "no Ookla tests" where it has no tile;
//   - speed tests and survey results by their point;
//   - claims on every desa whose sample points (a 5 × 5 grid over its
//     bounding box, the points inside it) are at least ClaimShare inside
//     the claimed area, and on a tile whose centre is inside it.
//
// The tiles summarized are those where something was measured (probes,
// survey passes, speed tests, Ookla); reported and claimed evidence is
// drawn onto them, never enumerating a claim's tiles.
//
// What the layers give is kept until a layer gets a new version (the key
// is every layer's ID and version), so a repeat costs the measured part
// and the combination only.
type Summarizer struct {
	regions *region.Regions
	zoom    int

	sampleOnce sync.Once
	sampled    map[string][]orb.Point

	mu     sync.Mutex
	cached *placed
}

// NewSummarizer summarizes over regions and tiles at zoom (the
// collector's tiles.zoom).
func NewSummarizer(regions *region.Regions, zoom int) *Summarizer {
	return &Summarizer{regions: regions, zoom: zoom}
}

// Zoom is the zoom of the tiles summarized.
func (s *Summarizer) Zoom() int { return s.zoom }

// Measured is what jangkau itself measured in a view's window.
type Measured struct {
	// Regions and Tiles are the probes' findings by desa code and by
	// quadkey at the summarizer's zoom (ProbeFinding).
	Regions, Tiles map[string]Finding
	// Survey are the results of probes in survey mode.
	Survey []SurveyPoint
	// PassSignal judges survey passes; nil: DefaultPassSignal.
	PassSignal PassSignal
	// Keep, when set, drops the findings it refuses before the verdict is
	// drawn: a partner's view keeps only its carriers' (and those that
	// name none).
	Keep func(Finding) bool
}

// ProbeFinding is the probes' finding of a place with a measured status:
// good → strong, degraded → weak, blank → none; silent and unmeasured say
// nothing about the signal there (a silent probe's link may be cut, or
// its power), so they give no finding. date is when the status holds (the
// window's end, or the last result).
func ProbeFinding(st coverage.Status, probes, samples int, date time.Time) (Finding, bool) {
	var sig Signal
	switch st {
	case coverage.StatusGood:
		sig = SignalStrong
	case coverage.StatusDegraded:
		sig = SignalWeak
	case coverage.StatusBlank:
		sig = SignalNone
	default:
		return Finding{}, false
	}
	return Finding{Layer: LayerProbes, Class: ClassMeasured, Source: "jangkau probes", Signal: sig, Date: date,
		Count: max(probes, 1), Detail: fmt.Sprintf("measured %s by jangkau's probes (%d results)", st, samples)}, true
}

// layers reads what the layers give, from the cache when no layer changed.
func (s *Summarizer) layers(ctx context.Context, st Store) (*placed, error) {
	if st == nil {
		return &placed{drawn: map[string][]Finding{}}, nil // no evidence store: the measurements alone
	}
	ls, err := st.Layers(ctx)
	if err != nil {
		return nil, fmt.Errorf("evidence layers: %w", err)
	}
	slices.SortFunc(ls, func(a, b Layer) int { return strings.Compare(a.ID, b.ID) })
	var key strings.Builder
	for _, l := range ls {
		key.WriteString(l.ID + "@" + strconv.Itoa(l.Version) + ";")
	}
	s.mu.Lock()
	defer s.mu.Unlock() // one build at a time: a second caller waits for it
	if c := s.cached; c != nil && c.key == key.String() {
		return c, nil
	}
	p, err := s.summarizeLayers(ctx, st, ls)
	if err != nil {
		return nil, err
	}
	p.key = key.String()
	s.cached = p
	return p, nil
}

// gather is a place's findings: the layers', those absent there, and the
// measured ones, those keep refuses dropped.
func gather(p *placed, layers []Finding, probe *Finding, survey []Finding, keep func(Finding) bool) []Finding {
	fs := slices.Clone(layers)
	for _, a := range p.absent {
		if !slices.ContainsFunc(fs, func(f Finding) bool { return f.Layer == a.Layer }) {
			fs = append(fs, a)
		}
	}
	if probe != nil {
		fs = append(fs, *probe)
	}
	fs = append(fs, survey...)
	if keep != nil {
		fs = slices.DeleteFunc(fs, func(f Finding) bool { return !keep(f) })
	}
	return fs
}

// Regions summarizes every desa, in code order, at now.
func (s *Summarizer) Regions(ctx context.Context, st Store, m Measured, now time.Time) ([]Summary, error) {
	p, err := s.layers(ctx, st)
	if err != nil {
		return nil, err
	}
	survey := passFindings(Passes(m.Survey, func(lat, lon float64) string {
		if r := s.regions.Locate(lat, lon); r != nil {
			return r.Code
		}
		return ""
	}), m.PassSignal)
	desa := s.regions.Level(s.regions.Deepest())
	out := make([]Summary, len(desa))
	for i, r := range desa {
		var probe *Finding
		if f, ok := m.Regions[r.Code]; ok {
			probe = &f
		}
		out[i] = Combine(gather(p, p.regions[r.Code], probe, survey[r.Code], m.Keep), now)
		out[i].Region = r.Code
	}
	return out, nil
}

// drawn are the reported and claimed findings of a tile, from its
// centre: its desa's Podes rows and the claims that hold it. They are
// kept with the layers' findings, for the next view.
func (s *Summarizer) drawn(p *placed, t maptile.Tile) []Finding {
	qk := tile.Quadkey(t)
	p.mu.Lock()
	fs, ok := p.drawn[qk]
	p.mu.Unlock()
	if ok {
		return fs
	}
	c := t.Bound().Center()
	if r := s.regions.Locate(c.Lat(), c.Lon()); r != nil {
		for _, f := range p.regions[r.Code] {
			if f.Kind == KindPodes {
				fs = append(fs, f)
			}
		}
	}
	fs = append(fs, p.claimsAt(c)...)
	p.mu.Lock()
	p.drawn[qk] = fs
	p.mu.Unlock()
	return fs
}

// Tiles summarizes every tile where something was measured, in quadkey
// order, at now.
func (s *Summarizer) Tiles(ctx context.Context, st Store, m Measured, now time.Time) ([]Summary, error) {
	p, err := s.layers(ctx, st)
	if err != nil {
		return nil, err
	}
	survey := passFindings(Passes(m.Survey, func(lat, lon float64) string {
		return tile.Quadkey(tile.At(lat, lon, s.zoom))
	}), m.PassSignal)
	keys := map[string]bool{}
	for qk := range p.tiles {
		keys[qk] = true
	}
	for qk := range m.Tiles {
		keys[qk] = true
	}
	for qk := range survey {
		keys[qk] = true
	}
	out := make([]Summary, 0, len(keys))
	for qk := range keys {
		t, err := tile.ParseQuadkey(qk)
		if err != nil {
			continue
		}
		fs := append(slices.Clip(p.tiles[qk]), s.drawn(p, t)...)
		var probe *Finding
		if f, ok := m.Tiles[qk]; ok {
			probe = &f
		}
		sum := Combine(gather(p, fs, probe, survey[qk], m.Keep), now)
		sum.Quadkey = qk
		out = append(out, sum)
	}
	slices.SortFunc(out, func(a, b Summary) int { return strings.Compare(a.Quadkey, b.Quadkey) })
	return out, nil
}
