package collector

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/tile"
)

// viewQuery is what every coverage view takes from its URL.
type viewQuery struct {
	coverage.Query
	Level  int
	Format string // geojson (default) or csv
}

// parseView reads level, window or from/to, carrier, service and format,
// with the API's defaults: the deepest level, the last 15 minutes.
func (s *Server) parseView(r *http.Request, defaultLevel int) (viewQuery, error) {
	v := r.URL.Query()
	q := viewQuery{Level: defaultLevel, Format: "geojson"}
	q.Now = s.now()
	if l := v.Get("level"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || s.regions.Level(n) == nil {
			return q, fmt.Errorf("level %q: the regions have levels %v", l, s.regions.Levels())
		}
		q.Level = n
	}
	q.To = q.Now
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
	q.Carrier, q.Service = v.Get("carrier"), v.Get("service")
	switch f := v.Get("format"); f {
	case "", "geojson", "json":
	case "csv":
		q.Format = "csv"
	default:
		return q, fmt.Errorf("format %q: geojson or csv", f)
	}
	return q, nil
}

// source feeds the coverage engine the store's rollups, with the store's
// stamps when it has them, so that the engine keeps its folds between
// writes (made once, in NewServer: the engine knows a feed by its pointer).
func (s *Server) source() coverage.Feed { return s.feed }

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
		return coverage.NewGenerationSource(read, g.RollupGeneration)
	}
	return read
}

// coverageProbes are the registered probes with when they last reported.
func (s *Server) coverageProbes(ctx context.Context) ([]coverage.Probe, error) {
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

// regionCells computes a region level for a view.
func (s *Server) regionCells(ctx context.Context, q viewQuery) ([]coverage.RegionCell, error) {
	src := s.source()
	probes, err := s.coverageProbes(ctx)
	if err != nil {
		return nil, err
	}
	return s.engine.Regions(ctx, src, probes, q.Level, q.Query)
}

func (s *Server) handleCoverageView(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseView(r, s.regions.Deepest())
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	cells, err := s.regionCells(r.Context(), q)
	if err != nil {
		s.storeFailed(w, "coverage", err)
		return
	}
	if q.Format == "csv" {
		writeCSV(w, regionColumns, len(cells), func(i int) []string { return regionRow(cells[i]) })
		return
	}
	fc := geojson.NewFeatureCollection()
	for _, c := range cells {
		f := geojson.NewFeature(c.Region.Geometry)
		f.ID = c.Region.Code
		f.Properties = regionProperties(c)
		fc.Append(f)
	}
	writeGeoJSON(w, fc, q)
}

func (s *Server) handleTiles(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseView(r, s.regions.Deepest())
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	z := s.cfg.Tiles.Zoom
	if zs := r.URL.Query().Get("z"); zs != "" {
		if z, err = strconv.Atoi(zs); err != nil {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("z %q is not a zoom level", zs))
			return
		}
	}
	bound, err := parseBBox(r.URL.Query().Get("bbox"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	src := s.source()
	tiles, err := s.engine.Tiles(r.Context(), src, z, bound, q.Query)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if q.Format == "csv" {
		writeCSV(w, tileColumns, len(tiles), func(i int) []string { return tileRow(tiles[i]) })
		return
	}
	fc := geojson.NewFeatureCollection()
	for _, t := range tiles {
		f := geojson.NewFeature(tile.Polygon(t.Tile))
		f.ID = t.Quadkey
		f.Properties = tileProperties(t)
		fc.Append(f)
	}
	writeGeoJSON(w, fc, q)
}

// parseBBox reads minLon,minLat,maxLon,maxLat; "" is no bound.
func parseBBox(s string) (orb.Bound, error) {
	if s == "" {
		return orb.Bound{}, nil
	}
	parts := strings.Split(s, ",")
	var v [4]float64
	if len(parts) != 4 {
		return orb.Bound{}, fmt.Errorf("bbox %q must be minLon,minLat,maxLon,maxLat", s)
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) {
			return orb.Bound{}, fmt.Errorf("bbox %q: %q is not a number", s, p)
		}
		v[i] = f
	}
	if v[0] > v[2] || v[1] > v[3] || v[1] < -90 || v[3] > 90 {
		return orb.Bound{}, fmt.Errorf("bbox %q must be minLon,minLat,maxLon,maxLat with min below max", s)
	}
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, nil
}

func (s *Server) handleServices(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseView(r, min(2, s.regions.Deepest()))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	src := s.source()
	v, err := s.engine.Services(r.Context(), src, q.Level, q.Query)
	if err != nil {
		s.storeFailed(w, "services", err)
		return
	}
	if q.Format == "csv" {
		writeCSV(w, serviceColumns, len(v.Cells), func(i int) []string { return s.serviceRow(v.Cells[i]) })
		return
	}
	cells := make([]map[string]any, len(v.Cells))
	for i, c := range v.Cells {
		cells[i] = map[string]any{"service": c.Service, "region": c.Region, "name": s.regionName(c.Region),
			"samples": c.Samples, "availability": nullable(c.Availability), "latency_p95_ms": nullable(c.P95)}
	}
	outages := make([]map[string]any, len(v.Outages))
	for i, o := range v.Outages {
		outages[i] = map[string]any{"service": o.Service, "from": o.From.Format(time.RFC3339), "to": o.To.Format(time.RFC3339)}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"level": v.Level, "from": q.From.UTC().Format(time.RFC3339), "to": q.To.UTC().Format(time.RFC3339),
		"services": v.Services, "cells": cells, "outages": outages,
	})
}

func (s *Server) regionName(code string) string {
	if r := s.regions.Get(code); r != nil {
		return r.Name
	}
	return ""
}

func writeGeoJSON(w http.ResponseWriter, fc *geojson.FeatureCollection, q viewQuery) {
	fc.ExtraMembers = geojson.Properties{
		"from": q.From.UTC().Format(time.RFC3339), "to": q.To.UTC().Format(time.RFC3339),
	}
	if q.Level > 0 {
		fc.ExtraMembers["level"] = q.Level
	}
	data, err := fc.MarshalJSON()
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Write(data)
}
