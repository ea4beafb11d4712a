package partner

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/httpapi"
)

// ogcFeatures is every feature of a collection within the scope and the
// query, in the collection's order.
func (s *API) ogcFeatures(ctx context.Context, c ogcCollectionInfo, q exportQuery) ([]*geojson.Feature, error) {
	var out []*geojson.Feature
	switch {
	case c.evidence != "":
		return s.evidenceFeatures(ctx, c.evidence, q)
	case c.level > 0:
		q.Level = c.level
		cells, err := s.scopedRegions(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, cell := range cells {
			out = append(out, regionFeature(cell))
		}
	case c.id == "tiles":
		tiles, err := s.r.Engine().Tiles(ctx, s.scopedSource(q), s.r.TileZoom(), orb.Bound{}, q.Query)
		if err != nil {
			return nil, err
		}
		for _, t := range tiles {
			out = append(out, tileFeature(t))
		}
	case c.id == "probes":
		probes, err := s.scopedProbes(ctx, q)
		if err != nil {
			return nil, err
		}
		sites := map[string]*orb.Point{}
		for _, site := range s.r.ProbeSites() {
			sites[site.ID] = site.Location
		}
		for _, p := range probes {
			var g orb.Geometry
			if l := sites[p.ID]; l != nil {
				g = *l
			} else if reg := s.r.Regions().Get(p.Region); reg != nil {
				g = reg.Bound.Center() // placed by region alone: its centre
			} else {
				g = orb.Point{}
			}
			f := geojson.NewFeature(g)
			f.ID = p.ID
			f.Properties = geojson.Properties{"id": p.ID, "region": p.Region, "carrier": p.Carrier, "last_seen": nil}
			if !p.LastSeen.IsZero() {
				f.Properties["last_seen"] = p.LastSeen.UTC().Format(time.RFC3339)
			}
			out = append(out, f)
		}
	default:
		spots, err := s.blankspots(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, b := range spots {
			out = append(out, b.feature())
		}
	}
	return out, nil
}

// itemsCollection is the collection of an items request, or false after
// answering a bad f (400) or an unknown collection (404).
func (s *API) itemsCollection(w http.ResponseWriter, r *http.Request) (ogcCollectionInfo, bool) {
	return s.requestCollection(w, r, checkF)
}

// requestCollection is the collection {id} of a request whose f passes
// checkFormat, or false after answering a bad f (400) or an unknown
// collection (404).
func (s *API) requestCollection(w http.ResponseWriter, r *http.Request, checkFormat func(http.ResponseWriter, *http.Request) bool) (ogcCollectionInfo, bool) {
	if !checkFormat(w, r) {
		return ogcCollectionInfo{}, false
	}
	c, ok := s.ogcCollectionInfo(r.PathValue("id"))
	if !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("collection %q: the collections are %s", r.PathValue("id"), s.collectionNames()))
	}
	return c, ok
}

// ogcItems serves /ogc/collections/{id}/items: bbox, datetime, limit and
// offset, coverage filters (carrier, service, region) and property
// filters, with numberMatched and a next link.
func (s *API) ogcItems(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	c, ok := s.itemsCollection(w, r)
	if !ok {
		return
	}
	httpapi.Serve(w, r, "ogc items", s.r.StoreFailed, s.parseItems(sc, c),
		func(ctx context.Context, q itemsQuery) ([]*geojson.Feature, error) {
			all, err := s.ogcFeatures(ctx, c, q.exportQuery)
			if err != nil {
				return nil, err
			}
			matched := all[:0]
			for _, f := range all {
				if (q.bound != orb.Bound{}) && (f.Geometry == nil || !f.Geometry.Bound().Intersects(q.bound)) {
					continue
				}
				if !propertiesMatch(f.Properties, q.filters) {
					continue
				}
				matched = append(matched, f)
			}
			return matched, nil
		},
		func(w http.ResponseWriter, q itemsQuery, matched []*geojson.Feature) {
			a.rows = s.writeItems(w, r, c, q, matched)
		})
}

// writeItems writes one page of matched with its links and returns the
// number of features on it.
func (s *API) writeItems(w http.ResponseWriter, r *http.Request, c ogcCollectionInfo, q itemsQuery, matched []*geojson.Feature) int {
	v, limit, offset := r.URL.Query(), q.limit, q.offset
	// offset may be as large as an int holds: never add to it before it
	// is clamped to the matches (offset+limit overflowed and panicked).
	start := min(offset, len(matched))
	end := start + min(limit, len(matched)-start)
	page := matched[start:end]
	path := "/ogc/collections/" + c.id + "/items"
	links := []ogcLink{{Href: absoluteURL(r, path, v), Rel: "self", Type: ogcGeoJSON, Title: "this page"},
		{Href: absoluteURL(r, "/ogc/collections/"+c.id, nil), Rel: "collection", Type: ogcJSON, Title: c.title}}
	if end < len(matched) {
		nv := cloneValues(v)
		nv.Set("offset", strconv.Itoa(end))
		nv.Set("limit", strconv.Itoa(limit))
		links = append(links, ogcLink{Href: absoluteURL(r, path, nv), Rel: "next", Type: ogcGeoJSON, Title: "next page"})
	}
	if offset > 0 {
		pv := cloneValues(v)
		pv.Set("offset", strconv.Itoa(max(0, start-limit)))
		links = append(links, ogcLink{Href: absoluteURL(r, path, pv), Rel: "prev", Type: ogcGeoJSON, Title: "previous page"})
	}
	fc := geojson.NewFeatureCollection()
	for _, f := range page {
		f.Geometry = httpapi.RoundGeometry(f.Geometry) // 7 decimals, as every GeoJSON answer
	}
	fc.Features = page
	fc.ExtraMembers = geojson.Properties{
		"numberMatched": len(matched), "numberReturned": len(page), "links": links,
		"timeStamp": s.r.Now().UTC().Format(time.RFC3339),
	}
	writeFeatureJSON(w, fc)
	return len(page)
}

// ogcItem serves /ogc/collections/{id}/items/{fid}.
func (s *API) ogcItem(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	c, ok := s.itemsCollection(w, r)
	if !ok {
		return
	}
	fid := r.PathValue("fid")
	parse := func(r *http.Request) (exportQuery, error) {
		if c.level > 0 && s.r.Regions().Get(fid) != nil && !withinAny(fid, sc.regions) {
			return exportQuery{}, &httpapi.ScopeError{Partner: sc.name, Field: "region", Value: fid}
		}
		return s.ogcQuery(r, sc, c.level)
	}
	compute := func(ctx context.Context, q exportQuery) ([]*geojson.Feature, error) { return s.ogcFeatures(ctx, c, q) }
	httpapi.Serve(w, r, "ogc item", s.r.StoreFailed, parse, compute,
		func(w http.ResponseWriter, _ exportQuery, all []*geojson.Feature) {
			a.rows = s.writeItem(w, r, c, fid, all)
		})
}

// writeItem writes feature fid of all, or a 404, and returns the number
// of features written.
func (s *API) writeItem(w http.ResponseWriter, r *http.Request, c ogcCollectionInfo, fid string, all []*geojson.Feature) int {
	for _, f := range all {
		if f.ID == fid {
			self := "/ogc/collections/" + c.id + "/items/" + url.PathEscape(fid)
			f.ExtraMembers = geojson.Properties{"links": []ogcLink{
				{Href: absoluteURL(r, self, nil), Rel: "self", Type: ogcGeoJSON},
				{Href: absoluteURL(r, "/ogc/collections/"+c.id, nil), Rel: "collection", Type: ogcJSON},
			}}
			f.Geometry = httpapi.RoundGeometry(f.Geometry)
			writeFeatureJSON(w, f)
			return 1
		}
	}
	httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("feature %q is not in collection %s", fid, c.id))
	return 0
}

func propertiesMatch(p geojson.Properties, filters []propertyFilter) bool {
	for _, f := range filters {
		if !f.match(p[f.name]) {
			return false
		}
	}
	return true
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, xs := range v {
		out[k] = append([]string(nil), xs...)
	}
	return out
}

func writeFeatureJSON(w http.ResponseWriter, v json.Marshaler) {
	data, err := v.MarshalJSON()
	if err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpapi.Complete(w, "application/geo+json", data)
}
