package partner

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/region"
)

// A claim is a carrier's declared coverage: a GeoJSON FeatureCollection of
// Polygon or MultiPolygon features, each with properties technology (5G,
// 4G, 3G, 2G), optionally carrier and as_of (YYYY-MM-DD). decodeClaim
// checks all of it and names every problem, so that a carrier fixes its
// file in one round; nothing is stored while any remains.

// maxProblems bounds the problems a 400 lists; the count says how many
// there were in all.
const maxProblems = 100

// Problem is one thing wrong with a submitted claim. Feature is the
// feature's index in features (from 0), or -1 for the collection itself.
type Problem struct {
	Feature int    `json:"feature"`
	Field   string `json:"field"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
}

// claim is a decoded, valid submission.
type claim struct {
	carrier  string
	carriers []string  // every carrier named, for the scope's 403
	asOf     time.Time // zero: no feature said
	obs      []evidence.Observation
}

// claimInput is what decodeClaim checks against.
type claimInput struct {
	carrier string // the carrier query parameter, "" when absent
	limits  ClaimLimits
}

// claimProblems collects problems, at most maxProblems of them.
type claimProblems struct {
	list  []Problem
	total int
}

func (p *claimProblems) add(feature int, field, value, format string, args ...any) {
	p.total++
	if len(p.list) < maxProblems {
		if len(value) > 120 {
			value = value[:120] + "…"
		}
		p.list = append(p.list, Problem{Feature: feature, Field: field, Value: value, Message: fmt.Sprintf(format, args...)})
	}
}

// rawFeature is a GeoJSON feature before its geometry is read.
type rawFeature struct {
	Type       string          `json:"type"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties map[string]any  `json:"properties"`
}

// decodeClaim reads and checks a submission. It returns the claim with
// every carrier it names, and the problems (with their total) when
// anything is wrong; the claim is usable only without problems.
func decodeClaim(body []byte, in claimInput) (claim, *claimProblems) {
	var p claimProblems
	var doc struct {
		Type     string          `json:"type"`
		Features []rawFeature    `json:"features"`
		CRS      json.RawMessage `json:"crs"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		p.add(-1, "body", "", "not a GeoJSON FeatureCollection: %v", err)
		return claim{}, &p
	}
	switch {
	case doc.Type != "FeatureCollection":
		p.add(-1, "type", doc.Type, "type %q: a claim is a GeoJSON FeatureCollection", doc.Type)
		return claim{}, &p
	case len(doc.Features) == 0:
		p.add(-1, "features", "", "no features: a claim needs at least one Polygon or MultiPolygon")
		return claim{}, &p
	case len(doc.Features) > in.limits.MaxFeatures:
		p.add(-1, "features", fmt.Sprint(len(doc.Features)), "%d features, more than partners[].claim_limits.max_features (%d): split the claim by technology or area", len(doc.Features), in.limits.MaxFeatures)
		return claim{}, &p
	}
	if len(doc.CRS) > 0 && !crs84Named(doc.CRS) {
		p.add(-1, "crs", string(doc.CRS), "coordinates must be WGS84 longitude, latitude (CRS84, as RFC 7946 says); leave crs out or name CRS84")
	}
	c := claim{carrier: in.carrier}
	vertices := 0
	var asOfFeature int
	for i, f := range doc.Features {
		if f.Type != "Feature" {
			p.add(i, "type", f.Type, "type %q: each member of features is a Feature", f.Type)
			continue
		}
		area := claimArea(&p, i, f.Geometry)
		for _, poly := range area {
			for _, ring := range poly {
				vertices += len(ring)
			}
		}
		o := evidence.Observation{Line: i, Area: area, Signal: evidence.SignalStrong}
		o.Tech = claimTech(&p, i, f.Properties["technology"])
		switch v := f.Properties["carrier"].(type) {
		case nil:
			o.Carrier = in.carrier
		case string:
			o.Carrier = v
		default:
			p.add(i, "properties.carrier", fmt.Sprint(v), "carrier must be a string")
		}
		switch {
		case o.Carrier == "":
			p.add(i, "properties.carrier", "", "no carrier: give properties.carrier or the carrier query parameter")
		case c.carrier == "":
			c.carrier = o.Carrier
		case o.Carrier != c.carrier:
			p.add(i, "properties.carrier", o.Carrier, "carrier %q differs from %q: a claim is one carrier's; submit each carrier's apart", o.Carrier, c.carrier)
		}
		if v, ok := f.Properties["as_of"]; ok && v != nil {
			s, _ := v.(string)
			t, err := time.Parse(time.DateOnly, s)
			switch {
			case err != nil:
				p.add(i, "properties.as_of", fmt.Sprint(v), "as_of %v: want a date YYYY-MM-DD", v)
			case c.asOf.IsZero():
				c.asOf, asOfFeature = t, i
			case !t.Equal(c.asOf):
				p.add(i, "properties.as_of", s, "as_of %s differs from feature %d's %s: a claim has one date; submit each date apart", s, asOfFeature, c.asOf.Format(time.DateOnly))
			}
		}
		c.obs = append(c.obs, o)
	}
	if vertices > in.limits.MaxVertices {
		p.add(-1, "features", fmt.Sprint(vertices), "%d points in all, more than partners[].claim_limits.max_vertices (%d): simplify the polygons or split the claim", vertices, in.limits.MaxVertices)
	}
	seen := map[string]bool{}
	for _, o := range c.obs {
		if o.Carrier != "" && !seen[o.Carrier] {
			seen[o.Carrier] = true
			c.carriers = append(c.carriers, o.Carrier)
		}
	}
	if in.carrier != "" && !seen[in.carrier] {
		c.carriers = append(c.carriers, in.carrier)
	}
	if p.total > 0 {
		return c, &p
	}
	return c, nil
}

// crs84Named says whether a GeoJSON 2008 crs member names WGS84 lon/lat.
func crs84Named(raw json.RawMessage) bool {
	var crs struct {
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	if json.Unmarshal(raw, &crs) != nil {
		return false
	}
	n := crs.Properties.Name
	return strings.HasSuffix(n, "CRS84") || strings.HasSuffix(n, "CRS::84")
}

// claimTech reads a feature's technology: 5G, 4G, 3G or 2G (any case).
func claimTech(p *claimProblems, i int, v any) evidence.Tech {
	s, _ := v.(string)
	if v == nil {
		p.add(i, "properties.technology", "", "no technology: give one of 5G, 4G, 3G, 2G")
		return ""
	}
	for _, t := range evidence.Techs {
		if strings.EqualFold(s, string(t)) {
			return t
		}
	}
	p.add(i, "properties.technology", fmt.Sprint(v), "technology %v is not one of 5G, 4G, 3G, 2G", v)
	return ""
}

// claimArea reads a feature's geometry: a Polygon or MultiPolygon in WGS84
// bounds, every ring closed with at least four points, valid as simple
// features (no self-intersection, holes inside their shell).
func claimArea(p *claimProblems, i int, raw json.RawMessage) orb.MultiPolygon {
	if len(raw) == 0 || string(raw) == "null" {
		p.add(i, "geometry", "", "no geometry: a claim's features are Polygons or MultiPolygons")
		return nil
	}
	g, err := geojson.UnmarshalGeometry(raw)
	if err != nil {
		p.add(i, "geometry", string(raw), "not a GeoJSON geometry: %v", err)
		return nil
	}
	var mp orb.MultiPolygon
	switch c := g.Geometry().(type) {
	case orb.Polygon:
		mp = orb.MultiPolygon{c}
	case orb.MultiPolygon:
		mp = c
	default:
		p.add(i, "geometry.type", g.Type, "geometry type %s: a claim's features are Polygons or MultiPolygons", g.Type)
		return nil
	}
	ok := true
	for j, poly := range mp {
		if len(poly) == 0 {
			p.add(i, "geometry.coordinates", "", "polygon %d has no rings", j)
			ok = false
		}
		for k, ring := range poly {
			where := fmt.Sprintf("polygon %d ring %d", j, k)
			for n, pt := range ring {
				if !inWGS84(pt) {
					p.add(i, "geometry.coordinates", fmt.Sprintf("[%g, %g]", pt[0], pt[1]),
						"%s point %d [%g, %g] is outside WGS84 bounds (longitude -180..180, latitude -90..90; coordinates are longitude first)", where, n, pt[0], pt[1])
					ok = false
					break
				}
			}
			switch {
			case len(ring) < 4:
				p.add(i, "geometry.coordinates", fmt.Sprint(len(ring)), "%s has %d points: a ring needs at least 4, the last repeating the first", where, len(ring))
				ok = false
			case ring[0] != ring[len(ring)-1]:
				p.add(i, "geometry.coordinates", fmt.Sprintf("[%g, %g]", ring[len(ring)-1][0], ring[len(ring)-1][1]),
					"%s is not closed: its last point must repeat its first [%g, %g]", where, ring[0][0], ring[0][1])
				ok = false
			}
		}
	}
	if !ok {
		return nil
	}
	if err := region.Validate(mp); err != nil {
		p.add(i, "geometry", "", "invalid geometry: %v", err)
		return nil
	}
	return mp
}

func inWGS84(pt orb.Point) bool {
	return !math.IsNaN(pt[0]) && !math.IsNaN(pt[1]) && pt[0] >= -180 && pt[0] <= 180 && pt[1] >= -90 && pt[1] <= 90
}
