package partner

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
)

// evidenceStore is the evidence store, or false after a 503 for a
// collector that keeps none.
func (s *API) evidenceStore(w http.ResponseWriter) (evidence.Store, bool) {
	st := s.r.Evidence()
	if st == nil {
		httpapi.Error(w, http.StatusServiceUnavailable, "this collector keeps no evidence layers")
	}
	return st, st != nil
}

// exportEvidenceLayers serves GET /api/v1/export/evidence: the newest
// version of every evidence layer the partner may read, with its
// provenance.
func (s *API) exportEvidenceLayers(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	st, ok := s.evidenceStore(w)
	if !ok {
		return
	}
	layers, err := st.Layers(r.Context())
	if err != nil {
		httpapi.Fail(w, "export evidence layers", err, s.r.StoreFailed)
		return
	}
	q := exportQuery{sc: sc}
	out := []evidence.Layer{}
	for _, l := range layers {
		if q.layerVisible(l) {
			out = append(out, l)
		}
	}
	a.rows = len(out)
	httpapi.JSON(w, http.StatusOK, map[string]any{"layers": out})
}

// exportEvidence serves GET /api/v1/export/evidence/{id}: one layer's rows
// (version, default the newest) within the scope, carrier and region, as
// GeoJSON (default) or CSV with the geometry as WKT.
func (s *API) exportEvidence(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	st, ok := s.evidenceStore(w)
	if !ok {
		return
	}
	q, err := s.parseExport(r, sc, s.r.Regions().Deepest())
	if err != nil {
		httpapi.Fail(w, "export evidence", err, s.r.StoreFailed)
		return
	}
	id := r.PathValue("id")
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		if version, err = strconv.Atoi(v); err != nil || version < 1 {
			httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf("version %q must be a positive integer (leave it out for the newest)", v))
			return
		}
	}
	versions, err := st.Versions(r.Context(), id)
	if errors.Is(err, evidence.ErrNotFound) {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("evidence layer %q: see /api/v1/export/evidence", id))
		return
	} else if err != nil {
		httpapi.Fail(w, "export evidence", err, s.r.StoreFailed)
		return
	}
	l := versions[len(versions)-1]
	if version > 0 {
		if version > l.Version {
			httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("evidence layer %q has versions 1..%d, not %d", id, l.Version, version))
			return
		}
		l = versions[version-1]
	}
	if !q.layerVisible(l) {
		httpapi.Fail(w, "export evidence", &httpapi.ScopeError{Partner: sc.name, Field: "carrier", Value: l.Carrier}, s.r.StoreFailed)
		return
	}
	var features []*geojson.Feature
	if err := s.layerFeatures(r.Context(), st, l, q, func(f *geojson.Feature) { features = append(features, f) }); err != nil {
		httpapi.Fail(w, "export evidence", err, s.r.StoreFailed)
		return
	}
	a.rows = len(features)
	if q.Format == "csv" {
		cols := evidenceColumns(l.Kind)
		httpapi.CSV(w, cols, len(features), func(i int) []string {
			f := features[i]
			p := geojson.Properties{}
			for k, v := range f.Properties {
				if x, ok := v.(realNumber); ok {
					v = float64(x)
				}
				p[k] = v
			}
			p["wkt"] = ""
			if f.Geometry != nil {
				p["wkt"] = httpapi.WKT(f.Geometry)
			}
			return httpapi.Row(p, cols)
		})
		return
	}
	fc := geojson.NewFeatureCollection()
	fc.Features = features
	for _, f := range fc.Features {
		f.Geometry = httpapi.RoundGeometry(f.Geometry)
	}
	fc.ExtraMembers = geojson.Properties{"layer": l}
	writeFeatureJSON(w, fc)
}
