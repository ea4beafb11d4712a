package httpapi

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/geo/region"
)

// RegionGeometries keeps each region's outline as GeoJSON, rounded as
// every answer rounds it, encoded and compressed once: regions never
// change while the collector runs, and encoding and gzipping a
// province's desa outlines (1.6 MB for Banten) was most of what a
// coverage answer cost. It also keeps each region's last properties,
// encoded and compressed, to reuse while they stay the same. The zero
// value is ready; it holds at most one outline and one set of
// properties per region of the collector's file.
type RegionGeometries struct {
	m     sync.Map // *region.Region → []byte
	heads sync.Map // *region.Region → part: the feature up to its properties
	props sync.Map // *region.Region → *propsPart
}

// propsPart is a region's properties with the key they were made from.
type propsPart struct {
	key any
	part
}

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

// head is the part of reg's feature before its properties,
// {"id":…,"type":"Feature","geometry":…,"properties": to follow ps.
func (g *RegionGeometries) head(reg *region.Region, ps parts) (part, error) {
	if v, ok := g.heads.Load(reg); ok {
		p := v.(part)
		if q := p.reuse(ps); q.after != p.after {
			g.heads.Store(reg, q)
			return q, nil
		}
		return p, nil
	}
	geom, err := g.JSON(reg)
	if err != nil {
		return part{}, err
	}
	id, err := json.Marshal(reg.Code)
	if err != nil {
		return part{}, err
	}
	raw := make([]byte, 0, len(geom)+len(id)+64)
	raw = append(raw, `{"id":`...)
	raw = append(raw, id...)
	raw = append(raw, `,"type":"Feature","geometry":`...)
	raw = append(raw, geom...)
	raw = append(raw, `,"properties":`...)
	p := newPart(raw, ps, true)
	g.heads.Store(reg, p)
	return p, nil
}

// properties is the part after reg's head, to follow ps: its
// properties, the end of the feature and, unless last, the comma before
// the next one. A key (comparable, not nil) equal to the one of reg's
// kept part reuses its bytes without calling props.
func (g *RegionGeometries) properties(reg *region.Region, key any, props func() geojson.Properties, last bool, ps parts) (part, error) {
	if key != nil && !last {
		if v, ok := g.props.Load(reg); ok && v.(*propsPart).key == key {
			kept := v.(*propsPart)
			p := kept.reuse(ps)
			if p.after != kept.after {
				g.props.Store(reg, &propsPart{key: key, part: p})
			}
			return p, nil
		}
	}
	p := props()
	raw := []byte("{}")
	if p != nil {
		var err error
		if raw, err = json.Marshal(p); err != nil {
			return part{}, err
		}
	}
	raw = append(raw, '}')
	if last {
		return newPart(raw, ps, false), nil
	}
	raw = append(raw, ',')
	pp := newPart(raw, ps, false)
	if key != nil {
		g.props.Store(reg, &propsPart{key: key, part: pp})
	}
	return pp, nil
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
	ps, err := g.collection(len(features), func(i int) (*region.Region, any, func() geojson.Properties) {
		return features[i].Region, nil, func() geojson.Properties { return features[i].Properties }
	}, q)
	if err != nil {
		return nil, err
	}
	return ps.plain(), nil
}

// collection is a collection of n features in parts: feature(i) gives
// the i-th one's region, its properties and a key that stands for them
// (see properties).
func (g *RegionGeometries) collection(n int, feature func(i int) (*region.Region, any, func() geojson.Properties), q View) (parts, error) {
	ps := make(parts, 0, 2*n+2)
	ps = append(ps, collectionHead)
	for i := range n {
		reg, key, props := feature(i)
		head, err := g.head(reg, ps)
		if err != nil {
			return nil, err
		}
		ps = append(ps, head)
		p, err := g.properties(reg, key, props, i == n-1, ps)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return append(ps, newPart(collectionTail(q), ps, false)), nil
}

var collectionHead = newPart([]byte(`{"features":[`), nil, false)

// collectionTail closes the features and adds the foreign members, in
// the order (by name) encoding/json writes them.
func collectionTail(q View) []byte {
	buf := []byte(`],"from":`)
	from, _ := json.Marshal(q.From.UTC().Format(time.RFC3339))
	buf = append(buf, from...)
	if q.Level > 0 {
		buf = append(buf, `,"level":`...)
		level, _ := json.Marshal(q.Level)
		buf = append(buf, level...)
	}
	buf = append(buf, `,"to":`...)
	to, _ := json.Marshal(q.To.UTC().Format(time.RFC3339))
	buf = append(buf, to...)
	return append(buf, `,"type":"FeatureCollection"}`...)
}
