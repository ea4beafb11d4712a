package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/geo/region"
)

// RegionGeometries keeps each region's outline as GeoJSON, rounded as
// every answer rounds it, encoded once: regions never change while the
// collector runs, and encoding a province's desa outlines (1.8 MB for
// Banten) was most of what a coverage answer cost. The zero value is
// ready; it holds at most one encoding per region of the collector's
// file.
type RegionGeometries struct{ m sync.Map } // *region.Region → []byte

// JSON returns reg's geometry as a GeoJSON geometry object.
func (g *RegionGeometries) JSON(reg *region.Region) ([]byte, error) {
	if v, ok := g.m.Load(reg); ok {
		return v.([]byte), nil
	}
	b, err := json.Marshal(geojson.NewGeometry(RoundGeometry(reg.Geometry)))
	if err != nil {
		return nil, err
	}
	v, _ := g.m.LoadOrStore(reg, b)
	return v.([]byte), nil
}

// RegionFeature is one feature of a collection of regions: the region's
// outline, its code as the id, and the properties.
type RegionFeature struct {
	Region     *region.Region
	Properties geojson.Properties
}

// RegionCollection is features as a GeoJSON FeatureCollection with the
// view's window (and level) as foreign members: the bytes GeoJSON writes
// for the same features, with each outline taken from g.
func RegionCollection(g *RegionGeometries, features []RegionFeature, q View) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"features":[`)
	for i, f := range features {
		if i > 0 {
			buf.WriteByte(',')
		}
		geom, err := g.JSON(f.Region)
		if err != nil {
			return nil, err
		}
		id, err := json.Marshal(f.Region.Code)
		if err != nil {
			return nil, err
		}
		props, err := json.Marshal(f.Properties)
		if err != nil {
			return nil, err
		}
		if f.Properties == nil {
			props = []byte("{}")
		}
		buf.WriteString(`{"id":`)
		buf.Write(id)
		buf.WriteString(`,"type":"Feature","geometry":`)
		buf.Write(geom)
		buf.WriteString(`,"properties":`)
		buf.Write(props)
		buf.WriteByte('}')
	}
	buf.WriteString(`],"from":`)
	from, _ := json.Marshal(q.From.UTC().Format(time.RFC3339))
	buf.Write(from)
	if q.Level > 0 {
		buf.WriteString(`,"level":`)
		level, _ := json.Marshal(q.Level)
		buf.Write(level)
	}
	buf.WriteString(`,"to":`)
	to, _ := json.Marshal(q.To.UTC().Format(time.RFC3339))
	buf.Write(to)
	buf.WriteString(`,"type":"FeatureCollection"}`)
	return buf.Bytes(), nil
}

// RevalidatedRegions answers features as RevalidatedGeoJSON answers a
// collection, outlines from g.
func RevalidatedRegions(w http.ResponseWriter, r *http.Request, g *RegionGeometries, features []RegionFeature, q View) {
	data, err := RegionCollection(g, features, q)
	if err != nil {
		Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	Revalidated(w, r, GeoJSONType, data)
}
