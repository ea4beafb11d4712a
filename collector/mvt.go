package collector

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/geo/draw"
	"github.com/jangkau/jangkau/geo/tile"
)

// levelForZoom picks the region level a map tile shows: kabupaten when
// zoomed out, kecamatan in between, the deepest level close in, limited to
// the levels the boundary file has.
func (s *Server) levelForZoom(z int) int {
	want := 2
	switch {
	case z >= 12:
		want = 4
	case z >= 9:
		want = 3
	}
	levels := s.regions.Levels()
	best := levels[0]
	for _, l := range levels {
		if l <= want {
			best = l
		}
	}
	return best
}

// handleMVT serves /tiles/{z}/{x}/{y}.mvt with the layers regions (status
// of the level that suits the zoom), tiles (measured map cells, from zoom
// 8) and probes.
func (s *Server) handleMVT(w http.ResponseWriter, r *http.Request) {
	z, err1 := strconv.Atoi(r.PathValue("z"))
	x, err2 := strconv.Atoi(r.PathValue("x"))
	ys, ok := strings.CutSuffix(r.PathValue("y"), ".mvt")
	y, err3 := strconv.Atoi(ys)
	if err1 != nil || err2 != nil || err3 != nil || !ok || z < 0 || z > 22 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("tile %s/%s/%s: want /tiles/{z}/{x}/{y}.mvt inside the zoom's grid", r.PathValue("z"), r.PathValue("x"), r.PathValue("y")))
		return
	}
	bound := maptile.New(uint32(x), uint32(y), maptile.Zoom(z)).Bound()
	q, err := s.parseView(r, s.levelForZoom(z))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	cells, err := s.regionCells(r.Context(), q)
	if err != nil {
		s.storeFailed(w, "tiles", err)
		return
	}
	regions := draw.MVTLayer{Name: draw.MVTLayerRegions}
	for _, c := range cells {
		if c.Region.Bound.Intersects(bound) {
			regions.Features = append(regions.Features, draw.MVTFeature{Geometry: c.Region.Geometry, Properties: mvtProperties(regionProperties(c))})
		}
	}
	layers := []draw.MVTLayer{regions}
	if z >= 8 {
		src := s.source()
		tiles, err := s.engine.Tiles(r.Context(), src, min(s.cfg.Tiles.Zoom, z+4), bound, q.Query)
		if err != nil {
			s.storeFailed(w, "tiles", err)
			return
		}
		tl := draw.MVTLayer{Name: draw.MVTLayerTiles}
		for _, t := range tiles {
			tl.Features = append(tl.Features, draw.MVTFeature{Geometry: tile.Polygon(t.Tile), Properties: mvtProperties(tileProperties(t))})
		}
		layers = append(layers, tl)
	}
	pl := draw.MVTLayer{Name: draw.MVTLayerProbes}
	for _, p := range s.probes.list {
		if l := p.Location; l != nil && bound.Contains(orb.Point{l.Lon, l.Lat}) {
			pl.Features = append(pl.Features, draw.MVTFeature{Geometry: orb.Point{l.Lon, l.Lat},
				Properties: map[string]any{"id": p.ID, "region": p.Region, "carrier": p.Carrier}})
		}
	}
	layers = append(layers, pl)
	data, err := draw.EncodeMVT(uint32(z), uint32(x), uint32(y), layers)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/vnd.mapbox-vector-tile")
	w.Write(data)
}

// mvtProperties drops nulls, which vector tiles cannot carry.
func mvtProperties(p map[string]any) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		if v != nil {
			out[k] = v
		}
	}
	return out
}
