package collector

import (
	"context"
	"sort"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/page"
	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// What the surfaces in other rooms read: the server implements
// partner.Reader and page.Reader with these methods, so that neither
// reaches the store, the config or the ingest side.

var (
	_ partner.Reader = (*Server)(nil)
	_ page.Reader    = (*Server)(nil)
)

// Evidence keeps the evidence layers (Options.Evidence).
func (s *Server) Evidence() evidence.Store { return s.opt.Evidence }

// Now is the server's clock.
func (s *Server) Now() time.Time { return s.opt.Now() }

// Regions are the boundaries coverage is computed on.
func (s *Server) Regions() *region.Regions { return s.regions }

// TileZoom is the zoom map cells are kept at (tiles.zoom).
func (s *Server) TileZoom() int { return s.cfg.Tiles.Zoom }

// RegionShapes keeps the regions layer's geometry of vector tiles, for
// the map's and the partners' tiles alike (tiles.shape_cache_bytes).
func (s *Server) RegionShapes() *httpapi.RegionShapes { return s.shapes }

// Engine computes coverage; it keeps its folds between requests.
func (s *Server) Engine() *coverage.Engine { return s.engine }

// Rollups feed the engine the store's rollups, with the store's stamps when
// it has them, so that the engine keeps its folds between writes (made once,
// in NewServer: the engine knows a feed by its pointer).
func (s *Server) Rollups() coverage.Feed { return s.feed }

// storeFeed is the store's rollups as the engine reads them.
func storeFeed(st store.Store) coverage.Feed {
	read := coverage.Source(func(ctx context.Context, res time.Duration, from, to time.Time, fn func(coverage.Row) error) error {
		return st.Rollups(ctx, res, from, to, func(b time.Time, c rollup.Cell, a *rollup.Agg) error {
			return fn(coverage.Row{Bucket: b, Res: res, Cell: c, Agg: a})
		})
	})
	switch g := st.(type) {
	case interface {
		RollupGeneration(res time.Duration, from, to time.Time) uint64
	}:
		gs := coverage.NewGenerationSource(read, g.RollupGeneration)
		// A store with region rows (the embedded one) feeds them too.
		if r, ok := st.(interface {
			RegionRollupsSince() (time.Time, error)
			RegionRollups(ctx context.Context, res time.Duration, from, to time.Time, fn func(time.Time, string, *rollup.RegionAgg) error) error
		}); ok {
			if since, err := r.RegionRollupsSince(); err == nil {
				gs.WithRegionRows(coverage.RegionRows{Since: since, Read: r.RegionRollups})
			}
		}
		return gs
	}
	return read
}

// Probes are the registered probes with when they last reported.
func (s *Server) Probes(ctx context.Context) ([]coverage.Probe, error) {
	states, err := s.store.Probes(ctx)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]time.Time, len(states))
	for _, st := range states {
		seen[st.ID] = st.LastSeen
	}
	out := make([]coverage.Probe, 0, len(s.probes.list))
	for _, p := range s.probes.list {
		out = append(out, coverage.Probe{ID: p.ID, Region: p.Region, Carrier: p.Carrier, LastSeen: seen[p.ID]})
	}
	return out, nil
}

// ProbeSites are the registered probes where a map draws them: at their
// location, or, for a probe placed by region code alone, at the centre of
// its region's bounding box (of the nearest region above it that the
// boundaries have, when they stop short of its code). The vector tiles
// and OGC API's probes collection both draw from here, so they show the
// same probes at the same points.
func (s *Server) ProbeSites() []httpapi.ProbeSite {
	out := make([]httpapi.ProbeSite, 0, len(s.probes.list))
	for _, p := range s.probes.list {
		site := httpapi.ProbeSite{ID: p.ID, Region: p.Region, Carrier: p.Carrier}
		if l := p.Location; l != nil {
			site.Location = &orb.Point{l.Lon, l.Lat}
		} else if reg := s.placingRegion(p.Region); reg != nil {
			c := reg.Bound.Center()
			site.Location, site.ByRegion = &c, true
		}
		out = append(out, site)
	}
	return out
}

// placingRegion is the region of code, or the nearest one above it that
// the boundaries have.
func (s *Server) placingRegion(code string) *region.Region {
	for c := code; c != ""; c = region.Parent(c) {
		if reg := s.regions.Get(c); reg != nil {
			return reg
		}
	}
	return nil
}

// RegionCells computes a region level of a view over every carrier and
// region.
func (s *Server) RegionCells(ctx context.Context, q httpapi.View) ([]coverage.RegionCell, error) {
	probes, err := s.Probes(ctx)
	if err != nil {
		return nil, err
	}
	return s.engine.Regions(ctx, s.feed, probes, q.Level, q.Query)
}

// TimeZone is the zone the map page shows times in (page.time_zone; a
// config that passed Validate always has one).
func (s *Server) TimeZone() *time.Location {
	loc, err := s.cfg.Page.Location()
	if err != nil {
		return time.UTC
	}
	return loc
}

// Banner is shown on top of the map page.
func (s *Server) Banner() string { return s.opt.Banner }

// ServiceNames are the e-services of the catalogue and of the probes'
// results seen recently, for the map's filter.
func (s *Server) ServiceNames() []string {
	seen := map[string]bool{}
	for _, sv := range s.cfg.Services {
		seen[sv.Service] = true
	}
	s.mu.Lock()
	for sv := range s.seenServices {
		seen[sv] = true
	}
	s.mu.Unlock()
	delete(seen, "")
	out := make([]string, 0, len(seen))
	for sv := range seen {
		out = append(out, sv)
	}
	sort.Strings(out)
	return out
}

// ScanResults streams the raw results of [from, to) in time order, as
// store.Scan does.
func (s *Server) ScanResults(ctx context.Context, from, to time.Time, fn func(store.Record) error) error {
	return s.store.Scan(ctx, from, to, fn)
}

// PlaceResult says where a stored result was measured; a result of a
// probe no longer configured keeps only its own location.
func (s *Server) PlaceResult(rec *store.Record) rollup.Cell {
	p := s.probes.byID[rec.Probe]
	if p == nil {
		p = &placedProbe{ID: rec.Probe}
	}
	return s.cellOf(p, &rec.Result)
}

// cellOf says where a result was measured: at its own location in survey
// mode, else where its probe stands. A check without a service measures
// the uplink.
func (s *Server) cellOf(p *placedProbe, r *wire.Result) rollup.Cell {
	c := rollup.Cell{Region: p.Region, Tile: p.Tile, Carrier: p.Carrier, Service: r.Service, Kind: r.Kind, Probe: p.ID}
	if c.Service == "" {
		c.Service = rollup.Uplink
	}
	if l := r.Location; l != nil {
		c.Tile = tile.Quadkey(tile.At(l.Lat, l.Lon, s.cfg.Tiles.Zoom))
		if reg := s.regions.Locate(l.Lat, l.Lon); reg != nil {
			c.Region = reg.Code
		}
	}
	return c
}

// StoreFailed logs and counts a failure of the store before its 503.
func (s *Server) StoreFailed(op string, err error) {
	s.metrics.storeErrors.Inc()
	s.log.Error("store failed", "op", op, "err", err)
}

// RegionEvidence summarizes every desa's evidence for the map page, over
// the view's window or the evidence views' day, whichever is longer, so
// that the page's 15-minute default still counts the day's survey passes.
func (s *Server) RegionEvidence(ctx context.Context, q httpapi.View) ([]evidence.Summary, error) {
	probes, err := s.Probes(ctx)
	if err != nil {
		return nil, err
	}
	query := q.Query
	if from := query.To.Add(-evidenceWindow); from.Before(query.From) {
		query.From = from
	}
	_, sums, err := s.EvidenceRegions(ctx, EvidenceInput{Feed: s.feed, Probes: probes, Query: query})
	return sums, err
}
