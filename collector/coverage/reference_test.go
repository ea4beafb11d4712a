package coverage

import (
	"context"
	"sort"

	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// The engine's answers before folds, kept as the oracle that folded
// answers must equal: every row of the window merged straight into its
// region's or tile's aggregate, outages judged over the whole window.

func (e *Engine) refRegions(ctx context.Context, src Feed, probes []Probe, level int, q Query) ([]RegionCell, error) {
	rows, err := e.read(ctx, src, q)
	if err != nil {
		return nil, err
	}
	out := e.outages(rows)
	deepest := map[string]*acc{}
	for r := range rows.all() {
		if out.excludes(r) {
			continue
		}
		a := deepest[r.Cell.Region]
		if a == nil {
			a = newAcc()
			deepest[r.Cell.Region] = a
		}
		if err := a.add(r.Cell, r.Agg, e.zoom); err != nil {
			return nil, err
		}
	}
	live := q.live(e.th)
	placed := placeProbes(probes, q)
	affected := map[string]int64{}
	for _, d := range e.regions.Level(e.regions.Deepest()) {
		p := placed[d.Code]
		st := e.th.Classify(deepest[d.Code].figures().stats(p.probes(deepest[d.Code]), p.lastSeen(), live), q.Now)
		if st != StatusBlank && st != StatusSilent {
			continue
		}
		if pop := e.pop[d.Code]; pop.known {
			for l := 1; l <= d.Level; l++ {
				affected[region.Ancestor(d.Code, l)] += pop.n
			}
		}
	}
	cells := deepest
	if level != e.regions.Deepest() {
		cells = map[string]*acc{}
		for code, a := range deepest {
			anc := region.Ancestor(code, level)
			if anc == "" {
				continue
			}
			c := cells[anc]
			if c == nil {
				c = newAcc()
				cells[anc] = c
			}
			if err := c.merge(a); err != nil {
				return nil, err
			}
		}
	}
	cover, err := e.tiles.Cover(level, e.zoom)
	if err != nil {
		return nil, err
	}
	var result []RegionCell
	for _, r := range e.regions.Level(level) {
		a := cells[r.Code]
		p := placed[r.Code]
		f := a.figures()
		pop := e.pop[r.Code]
		c := RegionCell{Region: r, figures: f, Probes: p.probes(a), LastSeen: p.lastSeen(),
			Population: pop.n, PopulationKnown: pop.known, PopulationEstimated: pop.estimated,
			PeopleAffected: affected[r.Code]}
		c.Status = e.th.Classify(f.stats(c.Probes, c.LastSeen, live), q.Now)
		// How much was measured, region by region over the deepest level.
		for _, d := range e.regions.Level(e.regions.Deepest()) {
			if region.Ancestor(d.Code, level) != r.Code {
				continue
			}
			c.Areas++
			p := placed[d.Code]
			st := e.th.Classify(deepest[d.Code].figures().stats(p.probes(deepest[d.Code]), p.lastSeen(), live), q.Now)
			if st == StatusUnmeasured {
				continue
			}
			c.MeasuredAreas++
			pop := e.pop[d.Code]
			if !pop.known {
				c.MeasuredPeopleUnknown++
				if st == StatusBlank || st == StatusSilent {
					c.AffectedUnknown++
				}
			}
			c.MeasuredPeople += pop.n
		}
		c.Tiles = len(cover.Tiles(r.Code))
		if a != nil {
			c.MeasuredTiles, _ = cover.Measured(r.Code, a.tiles)
		}
		result = append(result, c)
	}
	return result, nil
}

func (e *Engine) refTiles(ctx context.Context, src Feed, z int, q Query) ([]TileCell, error) {
	rows, err := e.read(ctx, src, q)
	if err != nil {
		return nil, err
	}
	out := e.outages(rows)
	cells := map[string]*acc{}
	for r := range rows.all() {
		if out.excludes(r) || len(r.Cell.Tile) < z {
			continue
		}
		qk := r.Cell.Tile[:z]
		a := cells[qk]
		if a == nil {
			a = newAcc()
			cells[qk] = a
		}
		if err := a.add(r.Cell, r.Agg, e.zoom); err != nil {
			return nil, err
		}
	}
	var result []TileCell
	for qk, a := range cells {
		t, err := tile.ParseQuadkey(qk)
		if err != nil {
			continue
		}
		f := a.figures()
		st := e.th.Classify(f.stats(len(a.probes), q.Now, false), q.Now)
		result = append(result, TileCell{Tile: t, Quadkey: qk, Status: st, figures: f, Probes: len(a.probes)})
	}
	sort.Slice(result, func(i, j int) bool { return result[i].Quadkey < result[j].Quadkey })
	return result, nil
}
