package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/draw"
	"github.com/jangkau/jangkau/geo/tile"
)

// ProbeSite is a registered probe where a map draws it.
type ProbeSite struct {
	ID, Region, Carrier string
	// Location is where the probe stands, or for a probe placed by region
	// code only (ByRegion), the point its region stands for; nil only when
	// no boundary places it at all.
	Location *orb.Point
	ByRegion bool
}

// ParseTile reads {z}/{x}/{y}.mvt inside the zoom's grid. route is the
// address as the error should show it ("/tiles/{z}/{x}/{y}.mvt").
func ParseTile(r *http.Request, route string) (maptile.Tile, error) {
	zs, xs, yv := r.PathValue("z"), r.PathValue("x"), r.PathValue("y")
	z, err1 := strconv.Atoi(zs)
	x, err2 := strconv.Atoi(xs)
	ys, ok := strings.CutSuffix(yv, ".mvt")
	y, err3 := strconv.Atoi(ys)
	if err1 != nil || err2 != nil || err3 != nil || !ok || z < 0 || z > tile.MaxZoom || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		return maptile.Tile{}, Invalid("tile", zs+"/"+xs+"/"+yv, "tile %s/%s/%s: want %s inside the zoom's grid", zs, xs, yv, route)
	}
	return maptile.New(uint32(x), uint32(y), maptile.Zoom(z)), nil
}

// LevelForZoom picks the region level a map tile shows: kabupaten when
// zoomed out, kecamatan in between, the deepest level close in, limited to
// levels, the levels the boundary file has.
func LevelForZoom(levels []int, z int) int {
	want := 2
	switch {
	case z >= 12:
		want = 4
	case z >= 9:
		want = 3
	}
	best := levels[0]
	for _, l := range levels {
		if l <= want {
			best = l
		}
	}
	return best
}

// MVTInput is what a vector tile draws: the map page's tiles see every
// carrier and region, a partner's only its scope.
type MVTInput struct {
	// Regions are the cells of the level that suits the zoom.
	Regions []coverage.RegionCell
	// Tiles computes map cells at zoom z within bound.
	Tiles func(ctx context.Context, z int, bound orb.Bound) ([]coverage.TileCell, error)
	// TileZoom is the zoom map cells are kept at.
	TileZoom int
	Probes   []ProbeSite
	// Shapes, when set, keeps the regions layer's geometry between
	// requests; Regions are then all of one level.
	Shapes *RegionShapes
}

// RenderMVT draws one vector tile with the layers regions, tiles
// (measured map cells, from zoom 8, at most 4 zooms deeper than the tile)
// and probes.
func RenderMVT(ctx context.Context, mapTile maptile.Tile, in MVTInput) ([]byte, error) {
	z := int(mapTile.Z)
	bound := mapTile.Bound()
	regions := draw.MVTLayer{Name: draw.MVTLayerRegions}
	if in.Shapes != nil && len(in.Regions) > 0 {
		sh, err := in.Shapes.Shapes(ctx, mapTile, in.Regions[0].Region.Level)
		if err != nil {
			return nil, err
		}
		regions.Shapes = sh
	}
	for _, c := range in.Regions {
		if c.Region.Bound.Intersects(bound) {
			regions.Features = append(regions.Features, draw.MVTFeature{Geometry: c.Region.Geometry, Key: c.Region.Code, Properties: mvtProperties(RegionProperties(c))})
		}
	}
	layers := []draw.MVTLayer{regions}
	if z >= 8 {
		tiles, err := in.Tiles(ctx, min(in.TileZoom, z+4), bound)
		if err != nil {
			return nil, err
		}
		tl := draw.MVTLayer{Name: draw.MVTLayerTiles}
		for _, t := range tiles {
			tl.Features = append(tl.Features, draw.MVTFeature{Geometry: tile.Polygon(t.Tile), Properties: mvtProperties(TileProperties(t))})
		}
		layers = append(layers, tl)
	}
	pl := draw.MVTLayer{Name: draw.MVTLayerProbes}
	for _, p := range in.Probes {
		if l := p.Location; l != nil && bound.Contains(*l) {
			placed := "location"
			if p.ByRegion {
				placed = "region"
			}
			pl.Features = append(pl.Features, draw.MVTFeature{Geometry: *l,
				Properties: map[string]any{"id": p.ID, "region": p.Region, "carrier": p.Carrier, "placed": placed}})
		}
	}
	layers = append(layers, pl)
	return draw.EncodeMVT(uint32(mapTile.Z), uint32(mapTile.X), uint32(mapTile.Y), layers)
}

// MVTType is the media type of a vector tile.
const MVTType = "application/vnd.mapbox-vector-tile"

// WriteMVT answers a rendered vector tile, revalidated (Content-Length,
// ETag, Cache-Control, 304): a map asks for the same tiles on every pan.
func WriteMVT(w http.ResponseWriter, r *http.Request, data []byte) {
	Revalidated(w, r, MVTType, data)
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
