package coverage

import (
	"context"
	"fmt"
	"time"

	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// RegionCell is one region's coverage over a window.
type RegionCell struct {
	Region *region.Region
	Status Status
	figures
	Probes   int
	LastSeen time.Time
	// Population is the region's own figure or, when PopulationEstimated,
	// an area-share estimate from its nearest ancestor with one.
	Population          int64
	PopulationKnown     bool
	PopulationEstimated bool
	// PeopleAffected is the population of the deepest regions inside this
	// one that are blank or silent.
	PeopleAffected int64
	// AffectedUnknown counts the blank or silent deepest regions inside
	// whose population is not known: their people are not in
	// PeopleAffected.
	AffectedUnknown int
	// MeasuredTiles of Tiles (at the engine's zoom) had results.
	MeasuredTiles, Tiles int
	// MeasuredAreas of Areas deepest regions inside this one (the region
	// itself at the deepest level) were measured: not unmeasured.
	// MeasuredPeople live in them, of which MeasuredPeopleUnknown regions
	// have no known population.
	MeasuredAreas, Areas  int
	MeasuredPeople        int64
	MeasuredPeopleUnknown int
}

// MeasuredAreaShare is the share of the deepest regions inside that were
// measured: the share of the map's fill that is backed by results.
func (c RegionCell) MeasuredAreaShare() float64 {
	if c.Areas == 0 {
		return 0
	}
	return float64(c.MeasuredAreas) / float64(c.Areas)
}

// MeasuredShare is the share of the region's tiles with results.
func (c RegionCell) MeasuredShare() float64 {
	if c.Tiles == 0 {
		return 0
	}
	return float64(c.MeasuredTiles) / float64(c.Tiles)
}

// Regions computes every region of a level. Results count where they were
// measured; regions above the deepest level roll up by code prefix;
// buckets in which an e-service was down at its end are left out.
func (e *Engine) Regions(ctx context.Context, src Feed, probes []Probe, level int, q Query) ([]RegionCell, error) {
	regions := e.regions.Level(level)
	if regions == nil {
		return nil, fmt.Errorf("level %d: the regions have levels %v", level, e.regions.Levels())
	}
	deepest, cells, err := e.regionGroups(ctx, src, q, level)
	if err != nil {
		return nil, err
	}
	live := q.live(e.th)
	placed := placeProbes(probes, q)

	// People affected: the deepest regions that are blank or silent; how
	// much was measured: the deepest regions that are not unmeasured.
	type sums struct {
		affected, measuredPeople                          int64
		affectedUnknown, areas, measured, measuredUnknown int
	}
	tallies := map[string]*sums{}
	for _, d := range e.regions.Level(e.regions.Deepest()) {
		p := placed[d.Code]
		st := e.th.Classify(deepest[d.Code].figures().stats(p.probes(deepest[d.Code]), p.lastSeen(), live), q.Now)
		pop := e.pop[d.Code]
		for l := 1; l <= d.Level; l++ {
			anc := region.Ancestor(d.Code, l)
			t := tallies[anc]
			if t == nil {
				t = &sums{}
				tallies[anc] = t
			}
			t.areas++
			if st == StatusUnmeasured {
				continue
			}
			t.measured++
			switch {
			case pop.known:
				t.measuredPeople += pop.n
			default:
				t.measuredUnknown++
			}
			switch {
			case st != StatusBlank && st != StatusSilent:
			case pop.known:
				t.affected += pop.n
			default:
				t.affectedUnknown++
			}
		}
	}

	var cover *tile.Cover
	if e.tiles != nil {
		if cover, err = e.tiles.Cover(level, e.zoom); err != nil {
			return nil, err
		}
	}
	result := make([]RegionCell, 0, len(regions))
	for _, r := range regions {
		a := cells[r.Code]
		p := placed[r.Code]
		f := a.figures()
		pop := e.pop[r.Code]
		c := RegionCell{Region: r, figures: f, Probes: p.probes(a), LastSeen: p.lastSeen(),
			Population: pop.n, PopulationKnown: pop.known, PopulationEstimated: pop.estimated}
		if t := tallies[r.Code]; t != nil {
			c.PeopleAffected, c.AffectedUnknown = t.affected, t.affectedUnknown
			c.MeasuredAreas, c.Areas = t.measured, t.areas
			c.MeasuredPeople, c.MeasuredPeopleUnknown = t.measuredPeople, t.measuredUnknown
		}
		c.Status = e.th.Classify(f.stats(c.Probes, c.LastSeen, live), q.Now)
		if cover != nil {
			c.Tiles = len(cover.Tiles(r.Code))
			if a != nil {
				c.MeasuredTiles, _ = cover.Measured(r.Code, a.tiles)
			}
		}
		result = append(result, c)
	}
	return result, nil
}

// placement holds the registered probes that stand in each region and
// its ancestors.
type placement map[string]*placed

type placed struct {
	last time.Time
	ids  map[string]bool
}

func placeProbes(probes []Probe, q Query) placement {
	pl := placement{}
	for _, p := range probes {
		if q.Carrier != "" && p.Carrier != q.Carrier {
			continue
		}
		for code := p.Region; code != ""; code = region.Parent(code) {
			x := pl[code]
			if x == nil {
				x = &placed{ids: map[string]bool{}}
				pl[code] = x
			}
			x.ids[p.ID] = true
			if p.LastSeen.After(x.last) {
				x.last = p.LastSeen
			}
		}
	}
	return pl
}

// probes counts the probes placed in a region together with those (survey
// probes) whose results were measured there.
func (x *placed) probes(a *acc) int {
	n := 0
	if x != nil {
		n = len(x.ids)
	}
	if a != nil {
		for id := range a.probes {
			if x == nil || !x.ids[id] {
				n++
			}
		}
	}
	return n
}

func (x *placed) lastSeen() time.Time {
	if x == nil {
		return time.Time{}
	}
	return x.last
}
