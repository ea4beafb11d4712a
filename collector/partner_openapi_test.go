package collector

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func init() {
	openapi3filter.RegisterBodyDecoder("application/geo+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/vnd.oai.openapi+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/schema+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/vnd.mapbox-vector-tile", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		var lines []any
		sc := bufio.NewScanner(body)
		for sc.Scan() {
			var v any
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			lines = append(lines, v)
		}
		return lines, sc.Err()
	})
}

// TestOpenAPIDescribesRealResponses sends real requests, successes and
// refusals alike, and validates each request and response against the
// served document, so that the document cannot drift from the handlers.
// Every operation of the document must be exercised.
func TestOpenAPIDescribesRealResponses(t *testing.T) {
	f := newExportFixture(t)
	loader := openapi3.NewLoader()
	code, _, raw := f.fetch("/api/v1/openapi.json", "")
	if code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	router, err := gorillamux.NewRouter(serversInPaths(doc))
	if err != nil {
		t.Fatal(err)
	}
	hit := map[string]bool{}
	putEvidence(t, f.srv.Evidence())
	claim := string(claimBody(claimFeature(geomSquare, map[string]any{"technology": "4G", "as_of": "2026-10-01"})))
	bowTie := string(claimBody(claimFeature(geomBowTie, map[string]any{"technology": "6G"})))
	for _, tc := range []struct {
		path, key string
		want      int
	}{
		{"/api/v1/openapi.json", "", 200},
		{"/api/v1/export/coverage", keyTel, 200},
		{"/api/v1/export/coverage?level=2&window=24h&format=csv", keyTel, 200},
		{"/api/v1/export/coverage?carrier=indosat", keyTel, 403},
		{"/api/v1/export/coverage", "", 401},
		{"/api/v1/export/coverage?window=-1h", keyAll, 400},
		{"/api/v1/export/tiles?z=12&bbox=100,0,101,1", keyAll, 200},
		{"/api/v1/export/tiles?format=csv", keyInd, 200},
		{"/api/v1/export/blankspots", keyTel, 200},
		{"/api/v1/export/blankspots?format=csv&region=99.01", keyKab, 200},
		{"/api/v1/export/results?window=6h&limit=50", keyTel, 200},
		{"/api/v1/export/results?window=6h&format=csv", keyKab, 200},
		{"/api/v1/export/results", keyInd, 403},
		{"/api/v1/export/tiles/8/199/127.mvt", keyAll, 200},
		{"/ogc", keyTel, 200},
		{"/ogc/conformance", keyTel, 200},
		{"/ogc/collections", keyKab, 200},
		{"/ogc/collections/regions-3", keyTel, 200},
		{"/ogc/collections/nothing", keyTel, 404},
		{"/ogc/collections/regions-1/items", keyTel, 200},
		{"/ogc/collections/regions-2/items?status=blank", keyTel, 200},
		// No path of its own: the generic one describes the 404.
		{"/ogc/collections/nothing/items", keyTel, 404},
		{"/ogc/collections/regions-3/items?limit=2", keyTel, 200},
		{"/ogc/collections/regions-3/items?limit=2&offset=2&datetime=2026-11-27T08:00:00Z/2026-11-27T09:00:00Z", keyTel, 200},
		{"/ogc/collections/tiles/items?bbox=100,0,100.5,0.5&status=good", keyAll, 200},
		{"/ogc/collections/probes/items", keyInd, 200},
		{"/ogc/collections/blankspots/items?status=blank", keyTel, 200},
		{"/ogc/collections/regions-3/items?samples=0&latency_p50_ms=", keyTel, 200},
		{"/ogc/collections/regions-3/items?samples=many", keyTel, 400},
		// Above the document's maximum: clamped, as OGC API - Features
		// says, so the request is not what the document describes.
		{"/ogc/collections/regions-3/items?limit=20000", keyTel, 200},
		{"/ogc/collections/regions-3/queryables", keyTel, 200},
		{"/ogc/collections/tiles/schema", keyInd, 200},
		{"/ogc/collections/nothing/queryables", keyInd, 404},
		{"/ogc/collections/regions-3/items/99.01.01", keyTel, 200},
		{"/ogc/collections/probes/items/west", keyInd, 404},
		{"/ogc/collections/regions-3/items/99.02.01", keyKab, 403},
		{"POST /api/v1/claims/openapi-claim?carrier=telkom&licence=CC-BY-4.0", keySub, 201},
		{"POST /api/v1/claims/openapi-bad?carrier=telkom", keySub, 400},
		{"POST /api/v1/claims/openapi-claim?carrier=indosat", keySub, 403},
		{"POST /api/v1/claims/openapi-claim?carrier=telkom", keyTel, 403},
		{"POST /api/v1/claims/podes-2024?carrier=telkom", keySub, 409},
		{"/api/v1/claims", keySub, 200},
		{"/api/v1/claims", keyTel, 403},
		{"/api/v1/claims/openapi-claim", keySub, 200},
		{"/api/v1/claims/nothing", keySub, 404},
		{"/api/v1/export/evidence", keyTel, 200},
		{"/api/v1/export/evidence/podes-2024", keyAll, 200},
		{"/api/v1/export/evidence/survey-2026?format=csv&region=99.01", keyKab, 200},
		{"/api/v1/export/evidence/claim-indosat", keyTel, 403},
		{"/api/v1/export/evidence/podes-2024?version=9", keyTel, 404},
		{"/ogc/collections/evidence-podes/items?signal=strong", keyAll, 200},
		{"/ogc/collections/evidence-ookla/items?bbox=100,0,100.5,0.5", keyTel, 200},
		{"/ogc/collections/evidence-speedtest/items?carrier=telkom&limit=1", keyTel, 200},
		{"/ogc/collections/evidence-claim/items?tech=4G", keyAll, 200},
		{"/ogc/collections/evidence-podes/items/podes-2024-1", keyKab, 200},
		{"/ogc/collections/evidence-claim/queryables", keyInd, 200},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.http.URL+tc.path, nil)
			// "POST path" posts a claim: a bow-tie to openapi-bad.
			body := ""
			if path, ok := strings.CutPrefix(tc.path, "POST "); ok {
				body = claim
				if strings.Contains(path, "openapi-bad") {
					body = bowTie
				}
				req, _ = http.NewRequest("POST", f.http.URL+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/geo+json")
			}
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, respBody)
			}
			req.Body = io.NopCloser(strings.NewReader(body)) // read again by the validation
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("the document has no route for %s: %v", tc.path, err)
			}
			hit[route.Operation.OperationID] = true
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
			if tc.want != 400 && !strings.Contains(tc.path, "limit=20000") {
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("request does not match the document: %v", err)
				}
			}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
				Header: resp.Header, Body: io.NopCloser(bytes.NewReader(respBody)),
				Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("response does not match the document: %v\n%.600s", err, respBody)
			}
		})
	}
	var missed []string
	doc = serversInPaths(doc)
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !hit[op.OperationID] {
				missed = append(missed, op.OperationID)
			}
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("operations never exercised: %v", missed)
	}
}

// serversInPaths folds each path's own servers (the OGC paths are relative
// to /ogc, as GDAL and QGIS look them up) into its key: kin-openapi's
// gorillamux router (v0.133) keeps one path's servers for every path after
// it, so it cannot route such a document as it is.
func serversInPaths(doc *openapi3.T) *openapi3.T {
	out := *doc
	out.Paths = openapi3.NewPaths()
	for path, item := range doc.Paths.Map() {
		if len(item.Servers) > 0 {
			moved := *item
			moved.Servers = nil
			out.Paths.Set(strings.TrimSuffix(item.Servers[0].URL, "/")+path, &moved)
			continue
		}
		out.Paths.Set(path, item)
	}
	return &out
}

// TestOpenAPIQueryablesPerCollection ties the document to /queryables:
// each collection the server lists has its own items path, whose query
// parameters are the collection's queryables with their types, and no
// filter that the collection does not have.
func TestOpenAPIQueryablesPerCollection(t *testing.T) {
	f := newExportFixture(t)
	code, _, raw := f.fetch("/api/v1/openapi.json", "")
	if code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	generic := doc.Paths.Find("/collections/{collectionId}/items")
	if generic == nil || generic.Get == nil {
		t.Fatal("the document lost the generic items path")
	}
	common := map[string]bool{}
	for _, p := range generic.Get.Parameters {
		if p.Ref == "" || !strings.HasPrefix(p.Ref, "#/components/parameters/prop_") {
			common[p.Value.Name] = true
		}
	}
	var list struct{ Collections []struct{ ID string } }
	if code, _, raw := f.fetch("/ogc/collections", keyAll); code != 200 || json.Unmarshal(raw, &list) != nil || len(list.Collections) < 4 {
		t.Fatalf("collections: %d %s", code, raw)
	}
	for _, c := range list.Collections {
		var q struct {
			Properties map[string]struct{ Type, Format string }
		}
		if code, _, raw := f.fetch("/ogc/collections/"+c.ID+"/queryables", keyAll); code != 200 || json.Unmarshal(raw, &q) != nil || len(q.Properties) == 0 {
			t.Fatalf("%s queryables: %d %s", c.ID, code, raw)
		}
		item := doc.Paths.Find("/collections/" + c.ID + "/items")
		if item == nil || item.Get == nil {
			t.Errorf("%s: no items path of its own", c.ID)
			continue
		}
		for name, want := range q.Properties {
			p := item.Get.Parameters.GetByInAndName("query", name)
			switch {
			case p == nil:
				t.Errorf("%s: queryable %s is not a parameter of its items path", c.ID, name)
			case common[name]:
				// carrier, region: filters of every collection.
			case p.Schema == nil || !p.Schema.Value.Type.Is(want.Type) || p.Schema.Value.Format != want.Format:
				t.Errorf("%s: parameter %s is %v %s, the queryable %s %s", c.ID, name, p.Schema.Value.Type.Slice(), p.Schema.Value.Format, want.Type, want.Format)
			}
		}
		for _, p := range item.Get.Parameters {
			if _, ok := q.Properties[p.Value.Name]; !ok && !common[p.Value.Name] {
				t.Errorf("%s: parameter %s is no queryable of the collection", c.ID, p.Value.Name)
			}
		}
	}
}
