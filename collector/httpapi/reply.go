package httpapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/paulmach/orb/geojson"
)

// The media types of the bodies below.
const (
	JSONType    = "application/json"
	GeoJSONType = "application/geo+json"
	CSVType     = "text/csv; charset=utf-8"
)

// Error answers code with {"error": msg} and returns code, for a
// handler's metrics.
func Error(w http.ResponseWriter, code int, msg string) int {
	JSON(w, code, map[string]string{"error": msg})
	return code
}

// JSON answers code with v, without escaping HTML (no page embeds it),
// with a Content-Length.
func JSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	w.Header().Set("Content-Type", JSONType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// CSVBody is n rows under a header. A view's cells fit in memory (they
// were computed there), so the body is whole and gets a Content-Length.
func CSVBody(columns []string, n int, row func(int) []string) []byte {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(columns)
	for i := range n {
		cw.Write(row(i))
	}
	cw.Flush()
	return buf.Bytes()
}

// CSV answers n rows under a header.
func CSV(w http.ResponseWriter, columns []string, n int, row func(int) []string) {
	Complete(w, CSVType, CSVBody(columns, n, row))
}

// GeoJSON answers fc with the view's window (and level, when it has one)
// as foreign members, coordinates rounded to 7 decimals.
func GeoJSON(w http.ResponseWriter, fc *geojson.FeatureCollection, q View) {
	if data, ok := geoJSONBody(w, fc, q); ok {
		Complete(w, GeoJSONType, data)
	}
}

// RevalidatedGeoJSON answers fc as GeoJSON does, with an ETag and a 304
// for a client that has it already (see Revalidated).
func RevalidatedGeoJSON(w http.ResponseWriter, r *http.Request, fc *geojson.FeatureCollection, q View) {
	if data, ok := geoJSONBody(w, fc, q); ok {
		Revalidated(w, r, GeoJSONType, data)
	}
}

// geoJSONBody marshals fc, or answers 500 and returns false.
func geoJSONBody(w http.ResponseWriter, fc *geojson.FeatureCollection, q View) ([]byte, bool) {
	fc.ExtraMembers = geojson.Properties{
		"from": q.From.UTC().Format(time.RFC3339), "to": q.To.UTC().Format(time.RFC3339),
	}
	if q.Level > 0 {
		fc.ExtraMembers["level"] = q.Level
	}
	for _, f := range fc.Features {
		f.Geometry = RoundGeometry(f.Geometry)
	}
	data, err := fc.MarshalJSON()
	if err != nil {
		Error(w, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	return data, true
}
