package partner

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jangkau/jangkau/collector/httpapi"
)

// OGC API - Features Part 3 (queryables, filtering by query parameters)
// and a JSON schema of each collection's features, so that a GIS types a
// field by what it is, not by the values on the first page it reads: a
// latency is a number even when every region of the page is unmeasured
// (null).
//
// What GDAL 3.6's OAPIF driver reads (ogroapifdriver.cpp): the schema is
// the collection link rel "describedBy" of type application/schema+json,
// a GeoJSON Feature schema whose "properties" member lists each property
// with "type" as one string ("number", "integer", "boolean", "string"
// with "format": "date-time"); a type array such as ["number", "null"]
// makes it a String. It pushes an equality filter down as ?name=value when
// the OpenAPI document lists name as a query parameter of
// /collections/{collectionId}/items, relative to the landing page.

const (
	schemaJSON    = "application/schema+json"
	jsonSchema202 = "https://json-schema.org/draft/2020-12/schema"
	relQueryables = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
)

var ogcPart3Classes = []string{
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
}

// ogcProperty is one property of a collection's features: its JSON type
// (never null: a value may be null, its type stays) and format.
type ogcProperty struct {
	name, typ, format, title string
}

func prop(name, typ, title string) ogcProperty {
	return ogcProperty{name: name, typ: typ, title: title}
}

func dateTime(name, title string) ogcProperty {
	return ogcProperty{name: name, typ: "string", format: "date-time", title: title}
}

// The coverage figures that regions and tiles share. A null one was not
// measured in the window.
var (
	propStatus  = prop("status", "string", "Coverage status: good, weak, blank, silent or unmeasured")
	propSamples = prop("samples", "integer", "Results in the window")
	propAvail   = prop("availability", "number", "Share of results that succeeded, 0..1 (null: none)")
	propLoss    = prop("loss", "number", "Mean packet loss, 0..1 (null: none)")
	propP50     = prop("latency_p50_ms", "number", "Median latency in ms (null: none)")
	propP95     = prop("latency_p95_ms", "number", "95th percentile latency in ms (null: none)")
	propProbes  = prop("probes", "integer", "Probes that reported")
)

// regionSchema follows httpapi.RegionColumns.
var regionSchema = []ogcProperty{
	prop("code", "string", "Region code (BPS/Kemendagri), e.g. 36.01.05"),
	prop("name", "string", "Region name"),
	prop("level", "integer", "1 province, 2 kabupaten/kota, 3 kecamatan, 4 desa/kelurahan"),
	propStatus, propSamples, propAvail, propLoss, propP50, propP95, propProbes,
	dateTime("last_seen", "Last result in the region (null: never)"),
	prop("population", "integer", "Population (null: unknown)"),
	prop("population_estimated", "boolean", "The population is estimated from the children or the area"),
	prop("people_affected", "integer", "People in the region when it is blank or silent, else 0"),
	prop("measured_share", "number", "Share of the population in measured children, 0..1"),
}

// tileSchema follows the tiles collection's properties.
var tileSchema = []ogcProperty{
	prop("quadkey", "string", "Bing/Ookla quadkey of the tile"),
	prop("z", "integer", "Zoom"), prop("x", "integer", "Tile column"), prop("y", "integer", "Tile row"),
	propStatus, propSamples, propAvail, propLoss, propP50, propP95, propProbes,
}

var probeSchema = []ogcProperty{
	prop("id", "string", "Probe id"),
	prop("region", "string", "Region code the probe is placed in"),
	prop("carrier", "string", "Carrier the probe measures"),
	dateTime("last_seen", "Last report (null: never)"),
}

// blankspotSchema follows blankspotColumns without the WKT.
var blankspotSchema = []ogcProperty{
	prop("id", "string", "region-CODE or tile-QUADKEY"),
	prop("kind", "string", "region or tile"),
	prop("code", "string", "Region code or quadkey"),
	prop("name", "string", "Region name (empty for a tile)"),
	prop("level", "integer", "Region level, or the tile's zoom"),
	propStatus,
	prop("people_affected", "integer", "People without coverage"),
	dateTime("since", "Blank or silent since (null: unknown)"),
	propSamples, propAvail,
	prop("verdict", "string", "Combined verdict of the evidence: covered, weak, none or unknown (null: not summarized at this level)"),
	prop("basis", "string", "Class of the evidence the verdict rests on: measured, reported or claimed (null: none)"),
	prop("evidence", "integer", "Sources that say something about the place"),
	prop("disputed", "boolean", "A carrier's claim there is contradicted by measurements"),
}

// ogcSchema is the properties of collection c's features, in order. They
// are also its queryables: each filters by equality (?name=value).
func ogcSchema(c ogcCollectionInfo) []ogcProperty {
	switch {
	case c.evidence != "":
		return evidenceSchemas[c.evidence]
	case c.level > 0:
		return regionSchema
	case c.id == "tiles":
		return tileSchema
	case c.id == "probes":
		return probeSchema
	default:
		return blankspotSchema
	}
}

// schemaProperties is a JSON schema's "properties" in the collection's
// order, which GDAL keeps as the order of the layer's fields.
type schemaProperties []ogcProperty

// MarshalJSON implements json.Marshaler.
func (ps schemaProperties) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		m := map[string]string{"title": p.title, "type": p.typ}
		if p.format != "" {
			m["format"] = p.format
		}
		k, err := json.Marshal(p.name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// ogcQueryables serves /ogc/collections/{id}/queryables (Part 3): a JSON
// schema of the properties that filter items, each with its type.
func (s *API) ogcQueryables(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	c, ok := s.requestCollection(w, r, checkSchemaF)
	if !ok {
		return
	}
	props := schemaProperties(ogcSchema(c))
	a.rows = len(props)
	writeSchema(w, map[string]any{
		"$schema": jsonSchema202, "$id": absoluteURL(r, r.URL.Path, nil),
		"type": "object", "title": c.title,
		"description": "Properties of " + c.id + " that filter its items by equality: ?name=value, value as in the GeoJSON (null matches an empty value).",
		"properties":  props, "additionalProperties": false,
	})
}

// ogcFeatureSchema serves /ogc/collections/{id}/schema: a JSON schema of
// the collection's GeoJSON features, linked as "describedBy", the schema
// GDAL's OAPIF driver types the layer's fields by.
func (s *API) ogcFeatureSchema(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	c, ok := s.requestCollection(w, r, checkSchemaF)
	if !ok {
		return
	}
	props := schemaProperties(ogcSchema(c))
	var required []string
	for _, p := range props {
		required = append(required, p.name)
	}
	a.rows = len(props)
	writeSchema(w, map[string]any{
		"$schema": jsonSchema202, "$id": absoluteURL(r, r.URL.Path, nil),
		"title": c.title, "type": "object",
		"description": "A GeoJSON feature of " + c.id + ". Every property is always present; a figure that was not measured is null, and keeps its type.",
		"required":    []string{"type", "geometry", "properties"},
		"properties": map[string]any{
			"type":     map[string]any{"type": "string", "enum": []string{"Feature"}},
			"id":       map[string]any{"type": "string"},
			"geometry": map[string]any{"type": "object", "title": "GeoJSON geometry, CRS84"},
			"properties": map[string]any{
				"type": "object", "required": required, "properties": props,
			},
		},
	})
}

// checkSchemaF accepts the f values a client may add to ask for JSON.
func checkSchemaF(w http.ResponseWriter, r *http.Request) bool {
	switch f := r.URL.Query().Get("f"); f {
	case "", "json", "application/json", schemaJSON:
		return true
	default:
		httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf("f %q: only json (a JSON schema) is served", f))
		return false
	}
}

func writeSchema(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", schemaJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}
