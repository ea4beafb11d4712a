package partner

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
)

// OGC API - Features, Part 1 (Core, GeoJSON, OpenAPI 3.0) at /ogc. The
// collections are the coverage views: the regions of each level, the map
// tiles, the probes and the blank spots, and the evidence layers by kind
// (ogc_evidence.go), each within the partner's scope.

const (
	ogcJSON    = "application/json"
	ogcGeoJSON = "application/geo+json"
	ogcOpenAPI = "application/vnd.oai.openapi+json;version=3.0"
	crs84      = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
)

var ogcConformanceClasses = append([]string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
}, ogcPart3Classes...)

type ogcLink struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// absoluteURL is path with query on the host the request came to, since
// GIS clients follow links as they are.
func absoluteURL(r *http.Request, path string, query url.Values) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: path}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// checkF accepts the f parameter clients add to ask for JSON.
func checkF(w http.ResponseWriter, r *http.Request) bool {
	switch f := r.URL.Query().Get("f"); f {
	case "", "json", "geojson", "application/json", "application/geo+json":
		return true
	default:
		httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf("f %q: only json (GeoJSON for features) is served", f))
		return false
	}
}

func (s *API) ogcLanding(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	if !checkF(w, r) {
		return
	}
	httpapi.JSON(w, http.StatusOK, map[string]any{
		"title":       "jangkau coverage",
		"description": "Connectivity and e-service coverage by region and map tile, as OGC API - Features.",
		"links": []ogcLink{
			{Href: absoluteURL(r, "/ogc", nil), Rel: "self", Type: ogcJSON, Title: "this document"},
			{Href: absoluteURL(r, "/api/v1/openapi.json", nil), Rel: "service-desc", Type: ogcOpenAPI, Title: "the API definition"},
			{Href: absoluteURL(r, "/ogc/conformance", nil), Rel: "conformance", Type: ogcJSON, Title: "conformance classes"},
			{Href: absoluteURL(r, "/ogc/collections", nil), Rel: "data", Type: ogcJSON, Title: "collections"},
		},
	})
}

func (s *API) ogcConformance(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	if !checkF(w, r) {
		return
	}
	httpapi.JSON(w, http.StatusOK, map[string]any{"conformsTo": ogcConformanceClasses})
}

// ogcCollectionInfo is one collection's description.
type ogcCollectionInfo struct {
	id, title, description string
	level                  int           // regions-N: N; else 0
	evidence               evidence.Kind // evidence-KIND: KIND; else ""
}

var levelNames = map[int]string{1: "provinces", 2: "kabupaten/kota", 3: "kecamatan", 4: "desa/kelurahan"}

func (s *API) ogcCollectionInfos() []ogcCollectionInfo {
	var out []ogcCollectionInfo
	for _, l := range s.r.Regions().Levels() {
		name := levelNames[l]
		if name == "" {
			name = "level " + strconv.Itoa(l)
		}
		out = append(out, ogcCollectionInfo{id: "regions-" + strconv.Itoa(l), level: l,
			title:       "Regions: " + name,
			description: "Coverage status of every region at level " + strconv.Itoa(l) + " over the window (datetime; default the last 15 minutes)."})
	}
	out = append(out,
		ogcCollectionInfo{id: "tiles", title: "Map tiles", description: fmt.Sprintf("Measured web-mercator tiles at zoom %d, with Ookla-like columns.", s.r.TileZoom())},
		ogcCollectionInfo{id: "probes", title: "Probes", description: "Registered probes with their carrier and last report."},
		ogcCollectionInfo{id: "blankspots", title: "Blank spots", description: "Blank and silent regions of the deepest level and blank tiles, with the people affected and since when, most people first."},
	)
	return append(out, s.evidenceCollectionInfos()...)
}

func (s *API) ogcCollectionInfo(id string) (ogcCollectionInfo, bool) {
	for _, c := range s.ogcCollectionInfos() {
		if c.id == id {
			return c, true
		}
	}
	return ogcCollectionInfo{}, false
}

// scopeBound is the extent of what the partner may read.
func (s *API) scopeBound(sc *scope) orb.Bound {
	if len(sc.regions) == 0 {
		return s.r.Regions().Bound()
	}
	var b orb.Bound
	first := true
	for _, code := range sc.regions {
		reg := s.r.Regions().Get(code)
		if reg == nil {
			continue
		}
		if first {
			b, first = reg.Bound, false
		} else {
			b = b.Union(reg.Bound)
		}
	}
	return b
}

func (s *API) ogcCollectionDoc(r *http.Request, sc *scope, c ogcCollectionInfo) map[string]any {
	b := s.scopeBound(sc)
	self := "/ogc/collections/" + c.id
	return map[string]any{
		"id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
		"crs": []string{crs84},
		"extent": map[string]any{
			"spatial":  map[string]any{"bbox": [][]float64{{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}, "crs": crs84},
			"temporal": map[string]any{"interval": [][]any{{nil, nil}}},
		},
		"links": []ogcLink{
			{Href: absoluteURL(r, self, nil), Rel: "self", Type: ogcJSON, Title: c.title},
			{Href: absoluteURL(r, self+"/items", nil), Rel: "items", Type: ogcGeoJSON, Title: c.title},
			{Href: absoluteURL(r, self+"/queryables", nil), Rel: relQueryables, Type: schemaJSON, Title: "properties that filter items"},
			// Relation types compare case-insensitively (RFC 8288), but
			// GDAL 3.6 looks for exactly "describedBy".
			{Href: absoluteURL(r, self+"/schema", nil), Rel: "describedBy", Type: schemaJSON, Title: "schema of the features"},
		},
	}
}

func (s *API) ogcCollections(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	if !checkF(w, r) {
		return
	}
	var cols []map[string]any
	for _, c := range s.ogcCollectionInfos() {
		cols = append(cols, s.ogcCollectionDoc(r, sc, c))
	}
	a.rows = len(cols)
	httpapi.JSON(w, http.StatusOK, map[string]any{
		"links":       []ogcLink{{Href: absoluteURL(r, "/ogc/collections", nil), Rel: "self", Type: ogcJSON, Title: "collections"}},
		"collections": cols,
	})
}

func (s *API) ogcCollection(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	if !checkF(w, r) {
		return
	}
	c, ok := s.ogcCollectionInfo(r.PathValue("id"))
	if !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("collection %q: see /ogc/collections", r.PathValue("id")))
		return
	}
	httpapi.JSON(w, http.StatusOK, s.ogcCollectionDoc(r, sc, c))
}

// collectionNames lists the collection ids for error messages.
func (s *API) collectionNames() string {
	var ids []string
	for _, c := range s.ogcCollectionInfos() {
		ids = append(ids, c.id)
	}
	return strings.Join(ids, ", ")
}
