package partner

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/geo/tile"
)

// exportRegionColumns are the coverage CSV's columns: the view's columns
// plus the geometry as WKT in "wkt", the one geometry column of every CSV
// export, which GDAL's CSV driver takes as the geometry by its name.
// Tiles use httpapi.TileColumns, whose quadkey is Ookla's tile id.
var exportRegionColumns = append(append([]string(nil), httpapi.RegionColumns...), "wkt")

// exportCoverage serves GET /api/v1/export/coverage: the regions of a level
// within the partner's scope.
func (s *API) exportCoverage(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	httpapi.Serve(w, r, "export coverage", s.r.StoreFailed, s.parser(sc, s.r.Regions().Deepest()), s.scopedRegions,
		func(w http.ResponseWriter, q exportQuery, cells []coverage.RegionCell) {
			a.rows = len(cells)
			if q.Format == "csv" {
				httpapi.CSV(w, exportRegionColumns, len(cells), func(i int) []string {
					return append(httpapi.RegionRow(cells[i]), httpapi.WKT(cells[i].Region.Geometry))
				})
				return
			}
			fc := geojson.NewFeatureCollection()
			for _, c := range cells {
				fc.Append(regionFeature(c))
			}
			httpapi.GeoJSON(w, fc, q.View)
		})
}

func regionFeature(c coverage.RegionCell) *geojson.Feature {
	f := geojson.NewFeature(c.Region.Geometry)
	f.ID = c.Region.Code
	f.Properties = realProperties(httpapi.RegionProperties(c))
	return f
}

// tilesQuery is an export of map tiles at zoom z within bound.
type tilesQuery struct {
	exportQuery
	z     int
	bound orb.Bound
}

// parseTiles reads an export query plus z (the configured zoom when
// absent, never deeper) and bbox.
func (s *API) parseTiles(sc *scope) func(*http.Request) (tilesQuery, error) {
	return func(r *http.Request) (tilesQuery, error) {
		eq, err := s.parseExport(r, sc, s.r.Regions().Deepest())
		if err != nil {
			return tilesQuery{}, err
		}
		q := tilesQuery{exportQuery: eq, z: s.r.TileZoom()}
		if zs := r.URL.Query().Get("z"); zs != "" {
			n, err := strconv.Atoi(zs)
			if err != nil || n < 1 || n > s.r.TileZoom() {
				return q, httpapi.Invalid("z", zs, "z %q: tiles are kept down to zoom %d (1..%d)", zs, s.r.TileZoom(), s.r.TileZoom())
			}
			q.z = n
		}
		q.bound, err = httpapi.ParseBBox(r.URL.Query().Get("bbox"))
		return q, err
	}
}

// exportTiles serves GET /api/v1/export/tiles: map tiles with Ookla-like
// columns.
func (s *API) exportTiles(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	compute := func(ctx context.Context, q tilesQuery) ([]coverage.TileCell, error) {
		return s.r.Engine().Tiles(ctx, s.scopedSource(q.exportQuery), q.z, q.bound, q.Query)
	}
	httpapi.Serve(w, r, "export tiles", s.r.StoreFailed, s.parseTiles(sc), compute,
		func(w http.ResponseWriter, q tilesQuery, tiles []coverage.TileCell) {
			a.rows = len(tiles)
			if q.Format == "csv" {
				httpapi.CSV(w, httpapi.TileColumns, len(tiles), func(i int) []string { return httpapi.TileRow(tiles[i]) })
				return
			}
			fc := geojson.NewFeatureCollection()
			for _, t := range tiles {
				fc.Append(tileFeature(t))
			}
			q.Level = 0
			httpapi.GeoJSON(w, fc, q.View)
		})
}

func tileFeature(t coverage.TileCell) *geojson.Feature {
	f := geojson.NewFeature(tile.Polygon(t.Tile))
	f.ID = t.Quadkey
	f.Properties = realProperties(httpapi.TileProperties(t))
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
