package partner

import (
	"context"
	"net/http"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/httpapi"
)

// scopedTile is a vector tile's address with its query.
type scopedTile struct {
	exportQuery
	tile maptile.Tile
}

// exportMVT serves GET /api/v1/export/tiles/{z}/{x}/{y}.mvt within the
// partner's scope: the map page's layers, with only the scope's results
// and probes.
func (s *API) exportMVT(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	parse := func(r *http.Request) (scopedTile, error) {
		tile, err := httpapi.ParseTile(r, "{z}/{x}/{y}.mvt")
		if err != nil {
			return scopedTile{}, err
		}
		q, err := s.parseExport(r, sc, httpapi.LevelForZoom(s.r.Regions().Levels(), int(tile.Z)))
		return scopedTile{exportQuery: q, tile: tile}, err
	}
	compute := func(ctx context.Context, q scopedTile) ([]byte, error) {
		cells, err := s.scopedRegions(ctx, q.exportQuery)
		if err != nil {
			return nil, err
		}
		in := httpapi.MVTInput{Regions: cells, TileZoom: s.r.TileZoom(), Shapes: s.r.RegionShapes(),
			Tiles: func(ctx context.Context, z int, bound orb.Bound) ([]coverage.TileCell, error) {
				return s.r.Engine().Tiles(ctx, s.scopedSource(q.exportQuery), z, bound, q.Query)
			}}
		for _, p := range s.r.ProbeSites() {
			if q.probeOK(p.Carrier, p.Region) {
				in.Probes = append(in.Probes, p)
			}
		}
		return httpapi.RenderMVT(ctx, q.tile, in)
	}
	httpapi.Serve(w, r, "export mvt", s.r.StoreFailed, parse, compute,
		func(w http.ResponseWriter, _ scopedTile, data []byte) {
			a.rows = 1
			httpapi.WriteMVT(w, r, data)
		})
}
