package collector

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// The evidence views: every desa's (and measured tile's) findings from
// the evidence layers and the probes, with the combined verdict of
// evidence.Combine (docs/evidence-rule.md), for planners with a viewer
// key. GET /api/v1/evidence and GET /api/v1/evidence/tiles.

// evidenceWindow is the evidence views' default window: survey passes and
// the probes' status over the last day (window, from and to change it).
const evidenceWindow = 24 * time.Hour

// evidenceRoutes registers the evidence views.
func (s *Server) evidenceRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/evidence", s.reader(s.handleEvidence))
	mux.Handle("GET /api/v1/evidence/tiles", s.reader(s.handleEvidenceTiles))
}

// EvidenceInput is what a view of evidence draws jangkau's own
// measurements from: the rollups and probes (the partner surface passes
// its scoped ones) and which carriers' findings to keep.
type EvidenceInput struct {
	Feed   coverage.Feed
	Probes []coverage.Probe
	Query  coverage.Query
	// CarrierOK keeps the findings of a carrier (nil: every carrier);
	// findings that name no carrier are always kept.
	CarrierOK func(carrier string) bool
}

// evidenceQuery is an evidence view's request.
type evidenceQuery struct {
	httpapi.View
	region string // code prefix, "" for all
	filter string // all, measured, disputed
	format string // json, csv, geojson
	bound  orb.Bound
}

var evidenceFilters = []string{"all", "measured", "disputed"}

// parseEvidence reads level, region, filter, format and the window.
func (s *Server) parseEvidence(r *http.Request) (evidenceQuery, error) {
	v := r.URL.Query()
	q := evidenceQuery{region: v.Get("region"), filter: v.Get("filter"), format: v.Get("format")}
	switch q.format {
	case "":
		q.format = "json"
	case "json", "csv", "geojson":
	default:
		return q, httpapi.Invalid("format", q.format, "format %q: json, csv or geojson", q.format)
	}
	if q.filter == "" {
		q.filter = "all"
	} else if !slices.Contains(evidenceFilters, q.filter) {
		return q, httpapi.Invalid("filter", q.filter, "filter %q: one of %s", q.filter, strings.Join(evidenceFilters, ", "))
	}
	// The window and level as every view reads them (format is ours).
	rest := url.Values{}
	for k, vs := range v {
		if k != "format" {
			rest[k] = vs
		}
	}
	if rest.Get("window") == "" && rest.Get("from") == "" && rest.Get("to") == "" {
		rest.Set("window", evidenceWindow.String())
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = rest.Encode()
	view, err := httpapi.ParseView(r2, s.Now(), s.regions, s.regions.Deepest())
	if err != nil {
		return q, err
	}
	q.View = view
	if q.Level != s.regions.Deepest() {
		return q, httpapi.Invalid("level", v.Get("level"),
			"level %d: evidence is summarized per desa (level %d); select an area with region=CODE", q.Level, s.regions.Deepest())
	}
	if q.region != "" {
		if !httpapi.ValidRegionCode(q.region) {
			return q, httpapi.Invalid("region", q.region, "region %q is not a region code like 36.02", q.region)
		}
		if s.regions.Get(q.region) == nil {
			return q, httpapi.Invalid("region", q.region, "region %q: the boundaries have no such region", q.region)
		}
	}
	q.bound, err = httpapi.ParseBBox(v.Get("bbox"))
	return q, err
}

// keep filters summaries by the request's filter.
func (q evidenceQuery) keep(sum *evidence.Summary) bool {
	switch q.filter {
	case "measured":
		return sum.Basis == evidence.ClassMeasured
	case "disputed":
		return sum.Disputed()
	}
	return true
}

// evidenceRow is one desa of the view.
type evidenceRow struct {
	cell coverage.RegionCell
	sum  evidence.Summary
}

// EvidenceRegions summarizes every desa from in; cells are the desa's
// coverage over the same window, in the same order.
func (s *Server) EvidenceRegions(ctx context.Context, in EvidenceInput) ([]coverage.RegionCell, []evidence.Summary, error) {
	cells, err := s.engine.Regions(ctx, in.Feed, in.Probes, s.regions.Deepest(), in.Query)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.measured(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	// The probes' status speaks for a desa where a probe stands; survey
	// results count as survey passes, so that a drive is not counted twice
	// where nothing stands.
	placed := map[string]bool{}
	for _, p := range in.Probes {
		placed[p.Region] = true
	}
	m.Regions = map[string]evidence.Finding{}
	for _, c := range cells {
		if !placed[c.Region.Code] {
			continue
		}
		if f, ok := evidence.ProbeFinding(c.Status, c.Probes, c.Samples, in.Query.To); ok {
			m.Regions[c.Region.Code] = f
		}
	}
	sums, err := s.evidenceView.sum.Regions(ctx, s.evidenceView.store, m, in.Query.Now)
	if err != nil {
		return nil, nil, err
	}
	return cells, sums, nil
}

// EvidenceTiles summarizes every tile where something was measured.
func (s *Server) EvidenceTiles(ctx context.Context, in EvidenceInput) ([]evidence.Summary, map[string]coverage.TileCell, error) {
	tiles, err := s.engine.Tiles(ctx, in.Feed, s.cfg.Tiles.Zoom, orb.Bound{}, in.Query)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.measured(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	placed := map[string]bool{} // the tiles where a probe stands, as for desa
	for _, p := range in.Probes {
		if pp := s.probes.byID[p.ID]; pp != nil && pp.Tile != "" {
			placed[pp.Tile] = true
		}
	}
	m.Tiles = map[string]evidence.Finding{}
	byKey := make(map[string]coverage.TileCell, len(tiles))
	for _, t := range tiles {
		byKey[t.Quadkey] = t
		if !placed[t.Quadkey] {
			continue
		}
		if f, ok := evidence.ProbeFinding(t.Status, t.Probes, t.Samples, in.Query.To); ok {
			m.Tiles[t.Quadkey] = f
		}
	}
	sums, err := s.evidenceView.sum.Tiles(ctx, s.evidenceView.store, m, in.Query.Now)
	return sums, byKey, err
}

// measured reads the survey results of the window: the results that carry
// a location, with their probe's carrier.
func (s *Server) measured(ctx context.Context, in EvidenceInput) (evidence.Measured, error) {
	th := s.engine.Thresholds()
	m := evidence.Measured{PassSignal: evidence.ShareSignal(th.BlankBelow, th.DegradedBelow)}
	if in.CarrierOK != nil {
		m.Keep = func(f evidence.Finding) bool { return f.Carrier == "" || in.CarrierOK(f.Carrier) }
	}
	err := s.store.Scan(ctx, in.Query.From, in.Query.To, func(rec store.Record) error {
		if rec.Location == nil {
			return nil
		}
		carrier := ""
		if p := s.probes.byID[rec.Probe]; p != nil {
			carrier = p.Carrier
		}
		if q := in.Query; (q.Carrier != "" && carrier != q.Carrier) || (q.Service != "" && rec.Service != q.Service) {
			return nil
		}
		m.Survey = append(m.Survey, evidence.SurveyPoint{Probe: rec.Probe, Carrier: carrier, Time: rec.Time,
			Lat: rec.Location.Lat, Lon: rec.Location.Lon, OK: rec.OK})
		return nil
	})
	if err != nil {
		return m, fmt.Errorf("survey results: %w", err)
	}
	return m, nil
}

func (s *Server) viewerInput(ctx context.Context, q evidenceQuery) (EvidenceInput, error) {
	probes, err := s.Probes(ctx)
	return EvidenceInput{Feed: s.feed, Probes: probes, Query: q.Query}, err
}

func (s *Server) handleEvidence(w http.ResponseWriter, r *http.Request) {
	compute := func(ctx context.Context, q evidenceQuery) ([]evidenceRow, error) {
		in, err := s.viewerInput(ctx, q)
		if err != nil {
			return nil, err
		}
		cells, sums, err := s.EvidenceRegions(ctx, in)
		if err != nil {
			return nil, err
		}
		var rows []evidenceRow
		for i := range sums {
			if (q.region == "" || region.Within(sums[i].Region, q.region)) && q.keep(&sums[i]) {
				rows = append(rows, evidenceRow{cell: cells[i], sum: sums[i]})
			}
		}
		return rows, nil
	}
	httpapi.Serve(w, r, "evidence", s.StoreFailed, s.parseEvidence, compute,
		func(w http.ResponseWriter, q evidenceQuery, rows []evidenceRow) {
			props := make([]geojson.Properties, len(rows))
			for i, row := range rows {
				props[i] = evidenceProperties(row.sum, q.Query.Now)
				props[i]["code"], props[i]["name"], props[i]["measured_status"] = row.cell.Region.Code, row.cell.Region.Name, string(row.cell.Status)
				props[i]["people"] = nil
				if row.cell.PopulationKnown {
					props[i]["people"] = row.cell.Population
				}
			}
			switch q.format {
			case "csv":
				httpapi.Revalidated(w, r, httpapi.CSVType, httpapi.CSVBody(evidenceRegionColumns, len(rows),
					func(i int) []string { return httpapi.Row(props[i], evidenceRegionColumns) }))
			case "geojson":
				fc := geojson.NewFeatureCollection()
				for i, row := range rows {
					f := geojson.NewFeature(row.cell.Region.Geometry)
					f.ID, f.Properties = row.cell.Region.Code, props[i]
					fc.Append(f)
				}
				httpapi.RevalidatedGeoJSON(w, r, fc, q.View)
			default:
				httpapi.JSON(w, http.StatusOK, evidenceBody(q, "regions", props, sumsOf(rows)))
			}
		})
}

func (s *Server) handleEvidenceTiles(w http.ResponseWriter, r *http.Request) {
	type tileRow struct {
		sum  evidence.Summary
		cell coverage.TileCell
	}
	compute := func(ctx context.Context, q evidenceQuery) ([]tileRow, error) {
		in, err := s.viewerInput(ctx, q)
		if err != nil {
			return nil, err
		}
		sums, cells, err := s.EvidenceTiles(ctx, in)
		if err != nil {
			return nil, err
		}
		var rows []tileRow
		for i := range sums {
			t, _ := tile.ParseQuadkey(sums[i].Quadkey)
			c := t.Bound().Center()
			if q.bound != (orb.Bound{}) && !t.Bound().Intersects(q.bound) {
				continue
			}
			if q.region != "" {
				if reg := s.regions.Locate(c.Lat(), c.Lon()); reg == nil || !region.Within(reg.Code, q.region) {
					continue
				}
			}
			if q.keep(&sums[i]) {
				rows = append(rows, tileRow{sum: sums[i], cell: cells[sums[i].Quadkey]})
			}
		}
		return rows, nil
	}
	httpapi.Serve(w, r, "evidence tiles", s.StoreFailed, s.parseEvidence, compute,
		func(w http.ResponseWriter, q evidenceQuery, rows []tileRow) {
			props := make([]geojson.Properties, len(rows))
			sums := make([]evidence.Summary, len(rows))
			for i, row := range rows {
				t, _ := tile.ParseQuadkey(row.sum.Quadkey)
				p := evidenceProperties(row.sum, q.Query.Now)
				p["quadkey"], p["z"], p["x"], p["y"] = row.sum.Quadkey, int(t.Z), int64(t.X), int64(t.Y)
				p["measured_status"] = string(coverage.StatusUnmeasured)
				if row.cell.Status != "" {
					p["measured_status"] = string(row.cell.Status)
				}
				props[i], sums[i] = p, row.sum
			}
			switch q.format {
			case "csv":
				httpapi.Revalidated(w, r, httpapi.CSVType, httpapi.CSVBody(evidenceTileColumns, len(rows),
					func(i int) []string {
						t, _ := tile.ParseQuadkey(rows[i].sum.Quadkey)
						props[i]["wkt"] = httpapi.WKT(tile.Polygon(t))
						return httpapi.Row(props[i], evidenceTileColumns)
					}))
			case "geojson":
				fc := geojson.NewFeatureCollection()
				for i, row := range rows {
					t, _ := tile.ParseQuadkey(row.sum.Quadkey)
					f := geojson.NewFeature(tile.Polygon(t))
					f.ID, f.Properties = row.sum.Quadkey, props[i]
					fc.Append(f)
				}
				q.View.Level = 0
				httpapi.RevalidatedGeoJSON(w, r, fc, q.View)
			default:
				httpapi.JSON(w, http.StatusOK, evidenceBody(q, "tiles", props, sums))
			}
		})
}

func sumsOf(rows []evidenceRow) []evidence.Summary {
	out := make([]evidence.Summary, len(rows))
	for i := range rows {
		out[i] = rows[i].sum
	}
	return out
}

// EvidenceSummaries summarizes every desa and every measured tile for the
// partner surface, which passes its scoped rollups and probes, the query,
// and the carriers it may see (findings of other carriers are dropped
// before the verdict is drawn).
func (s *Server) EvidenceSummaries(ctx context.Context, feed coverage.Feed, probes []coverage.Probe, q coverage.Query,
	carrierOK func(string) bool) (desa, tiles []evidence.Summary, err error) {
	in := EvidenceInput{Feed: feed, Probes: probes, Query: q, CarrierOK: carrierOK}
	if _, desa, err = s.EvidenceRegions(ctx, in); err != nil {
		return nil, nil, err
	}
	tiles, _, err = s.EvidenceTiles(ctx, in)
	return desa, tiles, err
}
