package collector

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/draw"
	"github.com/jangkau/jangkau/geo/tile"
)

// mvtInput is what a vector tile draws: the map page's tiles see every
// carrier and region, a partner's only its scope.
type mvtInput struct {
	regions func(ctx context.Context, q viewQuery) ([]coverage.RegionCell, error)
	source  coverage.Source
	probes  []*placedProbe
}

// parseTileAddress reads {z}/{x}/{y}.mvt inside the zoom's grid.
func parseTileAddress(r *http.Request) (maptile.Tile, error) {
	z, err1 := strconv.Atoi(r.PathValue("z"))
	x, err2 := strconv.Atoi(r.PathValue("x"))
	ys, ok := strings.CutSuffix(r.PathValue("y"), ".mvt")
	y, err3 := strconv.Atoi(ys)
	if err1 != nil || err2 != nil || err3 != nil || !ok || z < 0 || z > 22 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		return maptile.Tile{}, fmt.Errorf("tile %s/%s/%s: want {z}/{x}/{y}.mvt inside the zoom's grid", r.PathValue("z"), r.PathValue("x"), r.PathValue("y"))
	}
	return maptile.New(uint32(x), uint32(y), maptile.Zoom(z)), nil
}

// renderMVT draws one vector tile with the layers regions (the level that
// suits the zoom), tiles (measured map cells, from zoom 8) and probes, as
// handleMVT does for the map page.
func (s *Server) renderMVT(ctx context.Context, mapTile maptile.Tile, q viewQuery, in mvtInput) ([]byte, error) {
	z := int(mapTile.Z)
	bound := mapTile.Bound()
	cells, err := in.regions(ctx, q)
	if err != nil {
		return nil, err
	}
	regions := draw.MVTLayer{Name: draw.MVTLayerRegions}
	for _, c := range cells {
		if c.Region.Bound.Intersects(bound) {
			regions.Features = append(regions.Features, draw.MVTFeature{Geometry: c.Region.Geometry, Properties: mvtProperties(regionProperties(c))})
		}
	}
	layers := []draw.MVTLayer{regions}
	if z >= 8 {
		tiles, err := s.engine.Tiles(ctx, in.source, min(s.cfg.Tiles.Zoom, z+4), bound, q.Query)
		if err != nil {
			return nil, err
		}
		tl := draw.MVTLayer{Name: draw.MVTLayerTiles}
		for _, t := range tiles {
			tl.Features = append(tl.Features, draw.MVTFeature{Geometry: tile.Polygon(t.Tile), Properties: mvtProperties(tileProperties(t))})
		}
		layers = append(layers, tl)
	}
	pl := draw.MVTLayer{Name: draw.MVTLayerProbes}
	for _, p := range in.probes {
		if l := p.Location; l != nil && bound.Contains(orb.Point{l.Lon, l.Lat}) {
			pl.Features = append(pl.Features, draw.MVTFeature{Geometry: orb.Point{l.Lon, l.Lat},
				Properties: map[string]any{"id": p.ID, "region": p.Region, "carrier": p.Carrier}})
		}
	}
	layers = append(layers, pl)
	return draw.EncodeMVT(uint32(mapTile.Z), uint32(mapTile.X), uint32(mapTile.Y), layers)
}

// exportMVT serves GET /api/v1/export/tiles/{z}/{x}/{y}.mvt within the
// partner's scope.
func (s *Server) exportMVT(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	tile, err := parseTileAddress(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	q, err := s.parseExport(r, sc, s.levelForZoom(int(tile.Z)))
	if err != nil {
		s.exportFailed(w, "export mvt", err)
		return
	}
	in := mvtInput{
		regions: func(ctx context.Context, v viewQuery) ([]coverage.RegionCell, error) {
			return s.scopedRegions(ctx, q)
		},
		source: s.scopedSource(q),
	}
	for _, p := range s.probes.list {
		if sc.carrierOK(p.Carrier) && withinAny(p.Region, sc.regions) && q.regionOK(p.Region) && (q.Carrier == "" || p.Carrier == q.Carrier) {
			in.probes = append(in.probes, p)
		}
	}
	data, err := s.renderMVT(r.Context(), tile, q.viewQuery, in)
	if err != nil {
		s.exportFailed(w, "export mvt", err)
		return
	}
	a.rows = 1
	w.Header().Set("Content-Type", "application/vnd.mapbox-vector-tile")
	w.Write(data)
}
