package evidence

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// OoklaZoom is the zoom of Ookla's quadkeys.
const OoklaZoom = 16

// ClaimShare is the share of a desa's sample points a claim must cover
// for the desa to count as claimed (see samplePoints).
const ClaimShare = 0.5

// placed are the findings the layers give, by desa code and by quadkey
// at the summarizer's zoom, kept until a layer changes.
type placed struct {
	key     string // the layers' IDs and versions
	regions map[string][]Finding
	tiles   map[string][]Finding
	// absent are findings for the places a layer has no row for: an Ookla
	// layer says "no Ookla tests" there.
	absent []Finding
	// claims are the claim layers' areas, to draw onto tiles.
	claims []claimArea

	mu    sync.Mutex
	drawn map[string][]Finding // by quadkey, see Summarizer.drawn
}

// claimArea is one claim observation's area with its finding.
type claimArea struct {
	finding Finding
	polys   []*stripIndex
}

func (c *claimArea) contains(p orb.Point) bool {
	for _, poly := range c.polys {
		if poly.contains(p) {
			return true
		}
	}
	return false
}

// claimsAt are the claims of a point: per claim layer, the best
// technology whose area holds it.
func (p *placed) claimsAt(pt orb.Point) []Finding {
	var out []Finding
	for i := range p.claims {
		a := &p.claims[i]
		if !a.contains(pt) {
			continue
		}
		j := slices.IndexFunc(out, func(f Finding) bool { return f.Layer == a.finding.Layer })
		switch {
		case j < 0:
			out = append(out, a.finding)
		case techRank(a.finding.Tech) < techRank(out[j].Tech):
			out[j] = a.finding
		}
	}
	return out
}

// label names a layer in details: its title, else its source, else its ID.
func label(l Layer) string {
	return firstOf(l.Title, l.Source, l.ID)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// tally gathers the rows of one layer at one place.
type tally struct {
	tests   map[Signal]int // tests (or rows) per signal
	n       int
	down    float64 // sum of download kbps × weight
	weight  int
	tiles   map[string]bool
	last    time.Time
	carrier string
}

func (t *tally) add(o *Observation, weight int) {
	if t.tests == nil {
		t.tests, t.tiles = map[Signal]int{}, map[string]bool{}
	}
	t.tests[o.Signal] += weight
	t.n += weight
	if o.DownKbps > 0 {
		t.down += o.DownKbps * float64(weight)
		t.weight += weight
	}
	if o.Quadkey != "" {
		t.tiles[o.Quadkey] = true
	}
	t.last = maxTime(t.last, o.Time)
}

// signal is the signal most of the tests gave; a tie goes to the worse,
// as in the verdict's rule. Tests that said nothing are outvoted by any
// that said something.
func (t *tally) signal() Signal {
	best, bestN := SignalUnknown, 0
	for _, s := range []Signal{SignalNone, SignalWeak, SignalStrong} {
		if n := t.tests[s]; n > bestN {
			best, bestN = s, n
		}
	}
	return best
}

func (t *tally) downText() string {
	if t.weight == 0 {
		return ""
	}
	return fmt.Sprintf(", %.1f Mbps down", t.down/float64(t.weight)/1000)
}

// summarizeLayers reads the newest version of every layer and places its
// rows on desa and on tiles at the summarizer's zoom.
func (s *Summarizer) summarizeLayers(ctx context.Context, st Store, layers []Layer) (*placed, error) {
	p := &placed{regions: map[string][]Finding{}, tiles: map[string][]Finding{}, drawn: map[string][]Finding{}}
	for _, l := range layers {
		var err error
		switch l.Kind {
		case KindPodes:
			err = s.placePodes(ctx, st, l, p)
		case KindOokla, KindSpeedtest:
			err = s.placeTests(ctx, st, l, p)
		case KindClaim:
			err = s.placeClaims(ctx, st, l, p)
		}
		if err != nil {
			return nil, fmt.Errorf("evidence layer %s version %d: %w", l.ID, l.Version, err)
		}
	}
	return p, nil
}

func base(l Layer) Finding {
	return Finding{Layer: l.ID, Kind: l.Kind, Class: ClassOf(l.Kind), Source: l.Source, Carrier: l.Carrier, Date: l.Date}
}

// desaCode finds a desa by its code, dotted as the boundaries write it
// ("36.02.01.2001") or in BPS's ten digits ("3602012001").
func (s *Summarizer) desaCode(code string) string {
	code = strings.TrimSpace(code)
	if r := s.regions.Get(code); r != nil {
		return r.Code
	}
	if len(code) == 10 && strings.Trim(code, "0123456789") == "" {
		dotted := code[0:2] + "." + code[2:4] + "." + code[4:6] + "." + code[6:]
		if r := s.regions.Get(dotted); r != nil {
			return r.Code
		}
	}
	return ""
}

// placePodes: one finding per desa row, on the desa.
func (s *Summarizer) placePodes(ctx context.Context, st Store, l Layer, p *placed) error {
	return st.Observations(ctx, l.ID, l.Version, func(o *Observation) error {
		code := s.desaCode(o.Region)
		if code == "" {
			return nil // a desa outside these boundaries
		}
		f := base(l)
		f.Signal, f.Tech, f.Count = o.Signal, o.Tech, 1
		switch o.Signal {
		case SignalNone:
			f.Detail = "no signal per " + label(l)
		case SignalUnknown:
			f.Detail = "signal not recorded per " + label(l)
		default:
			f.Detail = strings.TrimSpace(fmt.Sprintf("%s %s signal per %s", o.Signal, o.Tech, label(l)))
		}
		p.regions[code] = append(p.regions[code], f)
		return nil
	})
}

// placeTests places Ookla tiles (by their centre) and speed tests (by
// their point): one finding per place and carrier, with the signal most
// tests gave.
func (s *Summarizer) placeTests(ctx context.Context, st Store, l Layer, p *placed) error {
	type key struct{ place, carrier string }
	regions, tiles := map[key]*tally{}, map[key]*tally{}
	add := func(m map[key]*tally, k key, o *Observation, w int) {
		t := m[k]
		if t == nil {
			t = &tally{carrier: k.carrier}
			m[k] = t
		}
		t.add(o, w)
	}
	err := st.Observations(ctx, l.ID, l.Version, func(o *Observation) error {
		carrier := firstOf(o.Carrier, l.Carrier)
		var lat, lon float64
		weight := 1
		qk := ""
		if l.Kind == KindOokla {
			t, err := tile.ParseQuadkey(o.Quadkey)
			if err != nil || t.Z != OoklaZoom {
				return nil // the importer checks quadkeys; a stray one places nowhere
			}
			c := t.Bound().Center()
			lat, lon, weight = c.Lat(), c.Lon(), max(o.Tests, 1)
			if s.zoom <= OoklaZoom {
				qk = o.Quadkey[:s.zoom]
			}
		} else {
			if !o.HasPoint() {
				return nil
			}
			lat, lon = o.Lat, o.Lon
			qk = tile.Quadkey(tile.At(lat, lon, s.zoom))
		}
		if r := s.regions.Locate(lat, lon); r != nil {
			add(regions, key{r.Code, carrier}, o, weight)
		}
		if qk != "" {
			add(tiles, key{qk, carrier}, o, weight)
		}
		return nil
	})
	if err != nil {
		return err
	}
	emit := func(m map[key]*tally, into map[string][]Finding) {
		for k, t := range m {
			f := base(l)
			f.Carrier, f.Signal, f.Count = t.carrier, t.signal(), t.n
			if !t.last.IsZero() {
				f.Date = t.last
			}
			if l.Kind == KindOokla {
				f.Detail = fmt.Sprintf("%d Ookla tests in %d tiles%s (%s)", t.n, len(t.tiles), t.downText(), label(l))
			} else {
				who := ""
				if t.carrier != "" {
					who = " on " + t.carrier
				}
				f.Detail = fmt.Sprintf("%d speed tests%s%s (%s)", t.n, who, t.downText(), label(l))
			}
			into[k.place] = append(into[k.place], f)
		}
	}
	emit(regions, p.regions)
	emit(tiles, p.tiles)
	if l.Kind == KindOokla {
		f := base(l)
		f.Signal, f.Detail = SignalUnknown, "no Ookla tests ("+label(l)+")"
		p.absent = append(p.absent, f)
	}
	return nil
}

// placeClaims: a desa is claimed by a claim row when the row's area
// covers at least ClaimShare of the desa's sample points; a desa claimed
// by several rows of one layer gets the best technology's finding.
func (s *Summarizer) placeClaims(ctx context.Context, st Store, l Layer, p *placed) error {
	var areas []claimArea
	err := st.Observations(ctx, l.ID, l.Version, func(o *Observation) error {
		if len(o.Area) == 0 {
			return nil
		}
		f := base(l)
		f.Carrier, f.Tech, f.Signal, f.Count = firstOf(o.Carrier, l.Carrier), o.Tech, o.Signal, 1
		if f.Signal == SignalUnknown {
			f.Signal = SignalStrong // a declared area with no level claims usable service
		}
		who := firstOf(f.Carrier, l.Source, l.ID)
		f.Detail = strings.TrimSpace(who + " claims " + string(o.Tech))
		a := claimArea{finding: f}
		for _, poly := range o.Area {
			a.polys = append(a.polys, newStripIndex(poly))
		}
		areas = append(areas, a)
		return nil
	})
	if err != nil {
		return err
	}
	p.claims = append(p.claims, areas...)
	samples := s.samples()
	for code, pts := range samples {
		var best *Finding
		for i := range areas {
			a := &areas[i]
			in := 0
			for _, pt := range pts {
				if a.contains(pt) {
					in++
				}
			}
			if float64(in) < ClaimShare*float64(len(pts)) || in == 0 {
				continue
			}
			if best == nil || techRank(a.finding.Tech) < techRank(best.Tech) {
				best = &a.finding
			}
		}
		if best != nil {
			p.regions[code] = append(p.regions[code], *best)
		}
	}
	return nil
}

// techRank orders technologies best first; unnamed last.
func techRank(t Tech) int {
	if i := slices.Index(Techs, t); i >= 0 {
		return i
	}
	return len(Techs)
}

// sampleGrid is the side of the grid of sample points laid over a desa's
// bounding box: those inside the desa stand for its area.
const sampleGrid = 5

// samples are the sample points of every desa, computed once: the points
// of a sampleGrid × sampleGrid grid over its bound (cell centres) that lie
// inside it, or its bound's centre for a desa too thin for any.
func (s *Summarizer) samples() map[string][]orb.Point {
	s.sampleOnce.Do(func() {
		s.sampled = map[string][]orb.Point{}
		for _, r := range s.regions.Level(s.regions.Deepest()) {
			var pts []orb.Point
			b := r.Bound
			dx, dy := (b.Max[0]-b.Min[0])/sampleGrid, (b.Max[1]-b.Min[1])/sampleGrid
			for i := range sampleGrid {
				for j := range sampleGrid {
					pt := orb.Point{b.Min[0] + (float64(i)+0.5)*dx, b.Min[1] + (float64(j)+0.5)*dy}
					if geometryContains(r.Geometry, pt) {
						pts = append(pts, pt)
					}
				}
			}
			if len(pts) == 0 {
				pts = []orb.Point{b.Center()}
			}
			s.sampled[r.Code] = pts
		}
	})
	return s.sampled
}

func geometryContains(g orb.Geometry, pt orb.Point) bool {
	for _, poly := range region.Polygons(g) {
		if planar.PolygonContains(poly, pt) {
			return true
		}
	}
	return false
}
