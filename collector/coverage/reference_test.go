package coverage

import (
	"context"
	"sort"
	"sync"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// The engine's answers before folds, kept as the oracle that folded
// answers must equal: every row of the window merged straight into its
// region's or tile's aggregate, outages judged over the whole window.

// read collects the window's rows that pass the filters: whole hours from
// hour rows, the edges from minute rows. The spans are read at once (a
// store decodes rows on as many cores as there are spans) and kept in
// Plan's order, so the answer does not depend on the timing.
func (e *Engine) read(ctx context.Context, src Feed, q Query) (rowSet, error) {
	spans := rollup.Plan(q.From, q.To)
	parts := make([]rowSet, len(spans))
	errs := make([]error, len(spans))
	var wg sync.WaitGroup
	for i, sp := range spans {
		wg.Go(func() {
			errs[i] = readSpan(ctx, src, sp, q, func(r Row) error {
				parts[i].add(r)
				return nil
			})
		})
	}
	wg.Wait()
	var rows rowSet
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		rows = append(rows, parts[i]...)
	}
	return rows, nil
}

func (a *acc) add(c rollup.Cell, g *rollup.Agg, zoom int) error {
	a.count += g.Count
	a.ok += g.OK
	a.lossSum += g.LossSum
	a.lossN += g.LossN
	a.lastResultNanos = max(a.lastResultNanos, g.Last)
	a.probes[c.Probe] = true
	if c.Tile != "" {
		if t, err := tile.ParseQuadkey(c.Tile); err == nil && int(t.Z) == zoom {
			a.tiles[t] = true
		}
	}
	k := a.kinds[c.Kind]
	if k == nil {
		k = rollup.NewAgg()
		a.kinds[c.Kind] = k
	}
	return k.Merge(g)
}

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

// refServices is the services view row by row, outages judged over the
// whole window.
func (e *Engine) refServices(ctx context.Context, src Feed, level int, q Query) (*ServicesView, error) {
	rows, err := e.read(ctx, src, q)
	if err != nil {
		return nil, err
	}
	type key struct{ service, region string }
	cells := map[key]*acc{}
	services := map[string]bool{}
	for r := range rows.all() {
		anc := region.Ancestor(r.Cell.Region, level)
		if anc == "" {
			continue
		}
		k := key{r.Cell.Service, anc}
		a := cells[k]
		if a == nil {
			a = newAcc()
			cells[k] = a
		}
		if err := a.add(r.Cell, r.Agg, e.zoom); err != nil {
			return nil, err
		}
		services[r.Cell.Service] = true
	}
	v := &ServicesView{Level: level}
	for s := range services {
		v.Services = append(v.Services, s)
	}
	sort.Strings(v.Services)
	for k, a := range cells {
		v.Cells = append(v.Cells, ServiceCell{Service: k.service, Region: k.region, figures: a.figures()})
	}
	sort.Slice(v.Cells, func(i, j int) bool {
		if v.Cells[i].Service != v.Cells[j].Service {
			return v.Cells[i].Service < v.Cells[j].Service
		}
		return v.Cells[i].Region < v.Cells[j].Region
	})
	v.Outages = mergeOutages(e.outages(rows))
	return v, nil
}
