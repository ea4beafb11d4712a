package collector

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/tile"
)

// The export's CSV columns: a view's columns plus the geometry as WKT, so
// that a GIS opens the file as a layer (GDAL: -oo GEOM_POSSIBLE_NAMES=wkt
// or tile). Tiles follow Ookla's open data: quadkey, then tile.
var (
	exportRegionColumns = append(append([]string(nil), regionColumns...), "wkt")
	exportTileColumns   = []string{"quadkey", "tile", "z", "x", "y", "status", "samples", "availability", "loss",
		"latency_p50_ms", "latency_p95_ms", "probes"}
)

// exportCoverage serves GET /api/v1/export/coverage: the regions of a level
// within the partner's scope.
func (s *Server) exportCoverage(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	q, err := s.parseExport(r, sc, s.regions.Deepest())
	if err != nil {
		s.exportFailed(w, "export coverage", err)
		return
	}
	cells, err := s.scopedRegions(r.Context(), q)
	if err != nil {
		s.exportFailed(w, "export coverage", err)
		return
	}
	a.rows = len(cells)
	if q.Format == "csv" {
		writeCSV(w, exportRegionColumns, len(cells), func(i int) []string {
			return append(regionRow(cells[i]), wkt.MarshalString(cells[i].Region.Geometry))
		})
		return
	}
	fc := geojson.NewFeatureCollection()
	for _, c := range cells {
		fc.Append(regionFeature(c))
	}
	writeGeoJSON(w, fc, q.viewQuery)
}

func regionFeature(c coverage.RegionCell) *geojson.Feature {
	f := geojson.NewFeature(c.Region.Geometry)
	f.ID = c.Region.Code
	f.Properties = realProperties(regionProperties(c))
	return f
}

// scopedTiles computes the tiles at zoom z within the scope; z 0 is the
// configured zoom.
func (s *Server) scopedTiles(r *http.Request, q exportQuery) ([]coverage.TileCell, error) {
	z := s.cfg.Tiles.Zoom
	if zs := r.URL.Query().Get("z"); zs != "" {
		n, err := strconv.Atoi(zs)
		if err != nil || n < 1 || n > s.cfg.Tiles.Zoom {
			return nil, badRequest{fmt.Errorf("z %q: tiles are kept down to zoom %d (1..%d)", zs, s.cfg.Tiles.Zoom, s.cfg.Tiles.Zoom)}
		}
		z = n
	}
	bound, err := parseBBox(r.URL.Query().Get("bbox"))
	if err != nil {
		return nil, badRequest{err}
	}
	return s.engine.Tiles(r.Context(), s.scopedSource(q), z, bound, q.Query)
}

// exportTiles serves GET /api/v1/export/tiles: map tiles with Ookla-like
// columns.
func (s *Server) exportTiles(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	q, err := s.parseExport(r, sc, s.regions.Deepest())
	if err != nil {
		s.exportFailed(w, "export tiles", err)
		return
	}
	tiles, err := s.scopedTiles(r, q)
	if err != nil {
		s.exportFailed(w, "export tiles", err)
		return
	}
	a.rows = len(tiles)
	if q.Format == "csv" {
		writeCSV(w, exportTileColumns, len(tiles), func(i int) []string {
			p := tileProperties(tiles[i])
			p["tile"] = wkt.MarshalString(tile.Polygon(tiles[i].Tile))
			out := make([]string, len(exportTileColumns))
			for j, col := range exportTileColumns {
				out[j] = csvValue(p[col])
			}
			return out
		})
		return
	}
	fc := geojson.NewFeatureCollection()
	for _, t := range tiles {
		fc.Append(tileFeature(t))
	}
	q.Level = 0
	writeGeoJSON(w, fc, q.viewQuery)
}

func tileFeature(t coverage.TileCell) *geojson.Feature {
	f := geojson.NewFeature(tile.Polygon(t.Tile))
	f.ID = t.Quadkey
	f.Properties = realProperties(tileProperties(t))
	return f
}

// realNumber is a float that JSON always writes with a fraction (1.0, not
// 1), so that a GIS typing fields from the first features it reads (GDAL)
// makes availability Real rather than Integer.
type realNumber float64

// MarshalJSON implements json.Marshaler.
func (r realNumber) MarshalJSON() ([]byte, error) {
	b := strconv.AppendFloat(nil, float64(r), 'f', -1, 64)
	if !bytes.ContainsAny(b, ".eE") {
		b = append(b, ".0"...)
	}
	return b, nil
}

// realProperties marks every float of a feature's properties as Real.
func realProperties(p geojson.Properties) geojson.Properties {
	for k, v := range p {
		if f, ok := v.(float64); ok {
			p[k] = realNumber(f)
		}
	}
	return p
}
