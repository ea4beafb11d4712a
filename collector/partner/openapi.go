package partner

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jangkau/jangkau/collector/httpapi"
)

// openAPIBase describes the export API and OGC API - Features, but for
// the items path of each collection, which openAPIDoc adds from the
// collections this collector serves. Tests validate real responses
// against the served document (collector/partner_openapi_test.go), so
// that it cannot drift from the handlers.
//
//go:embed openapi.json
var openAPIBase []byte

// openAPIItems is the base document's generic items path, which clients
// that read one path for every collection use (GDAL 3.6).
const openAPIItems = "/collections/{collectionId}/items"

// openAPIDoc is the served document, made once: the collections (region
// levels) do not change while the collector runs.
type openAPIDoc struct {
	once sync.Once
	data []byte
	err  error
}

// serveOpenAPI serves the document to anyone: it says what exists, never
// what is in it.
func (s *API) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	d := &s.openAPI
	d.once.Do(func() { d.data, d.err = openAPIWithCollections(s.ogcCollectionInfos()) })
	if d.err != nil {
		httpapi.Error(w, http.StatusInternalServerError, d.err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json;version=3.0")
	w.Header().Set("Content-Length", strconv.Itoa(len(d.data)))
	w.Write(d.data)
}

// openAPIWithCollections adds to the base document an items path for each
// collection, /collections/{id}/items, whose query parameters are the
// generic path's and the collection's own queryables, from ogcSchema as
// /queryables serves them: newer QGIS and GDAL read a collection's
// filters from its own path.
func openAPIWithCollections(cs []ogcCollectionInfo) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIBase, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	generic, _ := paths[openAPIItems].(map[string]any)
	get, _ := generic["get"].(map[string]any)
	params, _ := get["parameters"].([]any)
	if get == nil || params == nil {
		return nil, fmt.Errorf("openapi.json: no GET %s with parameters to copy", openAPIItems)
	}
	var common []any
	named := map[string]bool{}
	components, _ := doc["components"].(map[string]any)
	declared, _ := components["parameters"].(map[string]any)
	for _, p := range params {
		ref, _ := p.(map[string]any)["$ref"].(string)
		id := strings.TrimPrefix(ref, "#/components/parameters/")
		if id == "collectionId" || strings.HasPrefix(id, "prop_") {
			continue
		}
		common = append(common, p)
		if d, ok := declared[id].(map[string]any); ok {
			named[d["name"].(string)] = true
		}
	}
	for _, c := range cs {
		op := maps.Clone(get)
		op["operationId"] = "ogcItems-" + c.id
		op["summary"] = "Features of " + c.id + ": " + c.title
		ps := slices.Clone(common)
		for _, p := range ogcSchema(c) {
			// carrier and region filter the data already; on probes they
			// are the properties too (see the description).
			if !named[p.name] {
				ps = append(ps, queryParameter(p))
			}
		}
		op["parameters"] = ps
		item := maps.Clone(generic)
		item["get"] = op
		paths["/collections/"+c.id+"/items"] = item
	}
	return json.Marshal(doc)
}

// queryParameter is the query parameter of a queryable property.
func queryParameter(p ogcProperty) map[string]any {
	schema := map[string]any{"type": p.typ}
	if p.format != "" {
		schema["format"] = p.format
	}
	return map[string]any{
		"name": p.name, "in": "query", "required": false, "style": "form", "explode": false, "allowEmptyValue": true,
		"description": "Equality filter on the property: " + p.title + "; empty matches null",
		"schema":      schema,
	}
}
