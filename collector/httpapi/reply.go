package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"time"

	"github.com/paulmach/orb/geojson"
)

// Error answers code with {"error": msg} and returns code, for a
// handler's metrics.
func Error(w http.ResponseWriter, code int, msg string) int {
	JSON(w, code, map[string]string{"error": msg})
	return code
}

// JSON answers code with v, without escaping HTML (no page embeds it).
func JSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// CSV streams n rows under a header.
func CSV(w http.ResponseWriter, columns []string, n int, row func(int) []string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	cw.Write(columns)
	for i := range n {
		cw.Write(row(i))
	}
	cw.Flush()
}

// GeoJSON answers fc with the view's window (and level, when it has one)
// as foreign members.
func GeoJSON(w http.ResponseWriter, fc *geojson.FeatureCollection, q View) {
	fc.ExtraMembers = geojson.Properties{
		"from": q.From.UTC().Format(time.RFC3339), "to": q.To.UTC().Format(time.RFC3339),
	}
	if q.Level > 0 {
		fc.ExtraMembers["level"] = q.Level
	}
	data, err := fc.MarshalJSON()
	if err != nil {
		Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Write(data)
}
