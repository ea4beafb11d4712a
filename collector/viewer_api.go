package collector

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/geo/tile"
)

// The viewer API: coverage of regions, map tiles and e-services as
// GeoJSON or CSV, and the map's vector tiles, for planners with a viewer
// key (or anyone, with public_read).

func (s *Server) parseView(defaultLevel int) func(*http.Request) (httpapi.View, error) {
	return func(r *http.Request) (httpapi.View, error) {
		return httpapi.ParseView(r, s.Now(), s.regions, defaultLevel)
	}
}

func (s *Server) handleCoverageView(w http.ResponseWriter, r *http.Request) {
	httpapi.Serve(w, r, "coverage", s.StoreFailed, s.parseView(s.regions.Deepest()), s.RegionCells,
		func(w http.ResponseWriter, q httpapi.View, cells []coverage.RegionCell) {
			if q.Format == "csv" {
				httpapi.Revalidated(w, r, httpapi.CSVType, httpapi.CSVBody(httpapi.RegionColumns, len(cells),
					func(i int) []string { return httpapi.RegionRow(cells[i]) }))
				return
			}
			httpapi.RevalidatedRegionCells(w, r, &s.outlines, cells, q)
		})
}

// tilesQuery is a view of map tiles at zoom z within bound.
type tilesQuery struct {
	httpapi.View
	z     int
	bound orb.Bound
}

func (s *Server) handleTiles(w http.ResponseWriter, r *http.Request) {
	parse := func(r *http.Request) (tilesQuery, error) {
		v, err := httpapi.ParseView(r, s.Now(), s.regions, s.regions.Deepest())
		if err != nil {
			return tilesQuery{}, err
		}
		q := tilesQuery{View: v, z: s.cfg.Tiles.Zoom}
		if zs := r.URL.Query().Get("z"); zs != "" {
			if q.z, err = strconv.Atoi(zs); err != nil {
				return q, httpapi.Invalid("z", zs, "z %q is not a zoom level", zs)
			}
			if q.z < 1 || q.z > s.cfg.Tiles.Zoom {
				return q, httpapi.Invalid("z", zs, "z %d: tiles are kept down to zoom %d (1..%d)", q.z, s.cfg.Tiles.Zoom, s.cfg.Tiles.Zoom)
			}
		}
		q.bound, err = httpapi.ParseBBox(r.URL.Query().Get("bbox"))
		return q, err
	}
	// parse refused a zoom the engine does not keep, so an error here is
	// the store's: 503, logged and counted like every other view's.
	compute := func(ctx context.Context, q tilesQuery) ([]coverage.TileCell, error) {
		return s.engine.Tiles(ctx, s.feed, q.z, q.bound, q.Query)
	}
	httpapi.Serve(w, r, "tiles", s.StoreFailed, parse, compute,
		func(w http.ResponseWriter, q tilesQuery, tiles []coverage.TileCell) {
			if q.Format == "csv" {
				httpapi.Revalidated(w, r, httpapi.CSVType, httpapi.CSVBody(httpapi.TileColumns, len(tiles),
					func(i int) []string { return httpapi.TileRow(tiles[i]) }))
				return
			}
			fc := geojson.NewFeatureCollection()
			for _, t := range tiles {
				f := geojson.NewFeature(tile.Polygon(t.Tile))
				f.ID = t.Quadkey
				f.Properties = httpapi.TileProperties(t)
				fc.Append(f)
			}
			httpapi.RevalidatedGeoJSON(w, r, fc, q.View)
		})
}

func (s *Server) handleServices(w http.ResponseWriter, r *http.Request) {
	compute := func(ctx context.Context, q httpapi.View) (*coverage.ServicesView, error) {
		return s.engine.Services(ctx, s.feed, q.Level, q.Query)
	}
	httpapi.Serve(w, r, "services", s.StoreFailed, s.parseView(min(2, s.regions.Deepest())), compute,
		func(w http.ResponseWriter, q httpapi.View, v *coverage.ServicesView) {
			if q.Format == "csv" {
				httpapi.CSV(w, httpapi.ServiceColumns, len(v.Cells), func(i int) []string {
					return httpapi.ServiceRow(v.Cells[i], s.regionName(v.Cells[i].Region))
				})
				return
			}
			cells := make([]map[string]any, len(v.Cells))
			for i, c := range v.Cells {
				cells[i] = map[string]any{"service": c.Service, "region": c.Region, "name": s.regionName(c.Region),
					"samples": c.Samples, "availability": httpapi.Nullable(c.Availability), "latency_p95_ms": httpapi.Nullable(c.P95)}
			}
			outages := make([]map[string]any, len(v.Outages))
			for i, o := range v.Outages {
				outages[i] = map[string]any{"service": o.Service, "from": o.From.Format(time.RFC3339), "to": o.To.Format(time.RFC3339)}
			}
			httpapi.JSON(w, http.StatusOK, map[string]any{
				"level": v.Level, "from": q.From.UTC().Format(time.RFC3339), "to": q.To.UTC().Format(time.RFC3339),
				"services": v.Services, "cells": cells, "outages": outages,
			})
		})
}

// mapTile is a vector tile's address with its view.
type mapTile struct {
	httpapi.View
	tile maptile.Tile
}

// handleMVT serves /tiles/{z}/{x}/{y}.mvt, the map's vector tiles over
// every carrier and region.
func (s *Server) handleMVT(w http.ResponseWriter, r *http.Request) {
	parse := func(r *http.Request) (mapTile, error) {
		tile, err := httpapi.ParseTile(r, "/tiles/{z}/{x}/{y}.mvt")
		if err != nil {
			return mapTile{}, err
		}
		v, err := httpapi.ParseView(r, s.Now(), s.regions, httpapi.LevelForZoom(s.regions.Levels(), int(tile.Z)))
		return mapTile{View: v, tile: tile}, err
	}
	compute := func(ctx context.Context, q mapTile) ([]byte, error) {
		cells, err := s.RegionCells(ctx, q.View)
		if err != nil {
			return nil, err
		}
		return httpapi.RenderMVT(ctx, q.tile, httpapi.MVTInput{Regions: cells, TileZoom: s.cfg.Tiles.Zoom, Probes: s.ProbeSites(), Shapes: s.shapes,
			Tiles: func(ctx context.Context, z int, bound orb.Bound) ([]coverage.TileCell, error) {
				return s.engine.Tiles(ctx, s.feed, z, bound, q.Query)
			}})
	}
	httpapi.Serve(w, r, "tiles", s.StoreFailed, parse, compute,
		func(w http.ResponseWriter, _ mapTile, data []byte) { httpapi.WriteMVT(w, r, data) })
}

// probeView is one entry of GET /api/v1/probes.
type probeView struct {
	ID            string     `json:"id"`
	Region        string     `json:"region"`
	Carrier       string     `json:"carrier,omitempty"`
	LastSeen      *time.Time `json:"last_seen"`
	LastSeq       uint64     `json:"last_seq"`
	AckedSeq      uint64     `json:"acked_seq"`
	ResultsStored uint64     `json:"results_stored"`
	Lost          uint64     `json:"lost"`
	// Unspooled is the part of Lost the probe reported as dropped before
	// they got a seq; SpoolEpoch its current spool's identity, Epochs the
	// seq spaces it started after its first (spool lost or replaced).
	Unspooled  uint64 `json:"unspooled"`
	SpoolEpoch string `json:"spool_epoch,omitempty"`
	Epochs     uint64 `json:"spool_epochs"`
	// Version is the probe's own version as of its last batch to this
	// collector; empty before it (or from a probe too old to send it).
	Version string `json:"version,omitempty"`
	// NamesFolded counts the check and e-service names of its results
	// stored as "other" since this collector started (ingest_names.go).
	NamesFolded uint64 `json:"names_folded"`
}

func (s *Server) handleProbes(w http.ResponseWriter, r *http.Request) {
	states, err := s.store.Probes(r.Context())
	if err != nil {
		s.storeFailed(w, "read probes", err)
		return
	}
	byID := map[string]int{}
	for i, st := range states {
		byID[st.ID] = i
	}
	out := make([]probeView, 0, len(s.probes.list))
	for _, p := range s.probes.list {
		v := probeView{ID: p.ID, Region: p.Region, Carrier: p.Carrier, NamesFolded: p.names.folded.Load()}
		if pv := p.version.Load(); pv != nil {
			v.Version = *pv
		}
		if i, ok := byID[p.ID]; ok {
			st := states[i]
			v.LastSeq, v.AckedSeq, v.ResultsStored, v.Lost = st.LastSeq, st.AckedSeq, st.ResultsStored, st.Lost
			v.Unspooled, v.SpoolEpoch, v.Epochs = st.Dropped, st.Epoch, st.Epochs
			if !st.LastSeen.IsZero() {
				ls := st.LastSeen.UTC()
				v.LastSeen = &ls
			}
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	httpapi.JSON(w, http.StatusOK, map[string]any{"probes": out})
}

func (s *Server) regionName(code string) string {
	if r := s.regions.Get(code); r != nil {
		return r.Name
	}
	return ""
}
