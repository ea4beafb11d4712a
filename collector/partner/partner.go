// Package partner is the collector's surface for telecom partners: their
// keys, scopes, rate limits and audit log, the export API (coverage,
// tiles, blank spots, raw results, vector tiles), OGC API - Features and
// the OpenAPI document that describes both. It reads the collector only
// through Reader, and every figure it serves is computed within the
// partner's scope.
package partner

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/region"
)

// Reader is what the partner surface reads of the collector.
type Reader interface {
	// Now is the collector's clock.
	Now() time.Time
	// Regions are the boundaries coverage is computed on.
	Regions() *region.Regions
	// TileZoom is the zoom map cells are kept at.
	TileZoom() int
	// RegionShapes keeps the regions layer's geometry of vector tiles.
	RegionShapes() *httpapi.RegionShapes
	// Engine computes coverage over a source; Rollups is the unscoped
	// source, which the partner narrows to its scope row by row.
	Engine() *coverage.Engine
	Rollups() coverage.Feed
	// Probes are the registered probes with when they last reported;
	// ProbeSites where a map draws them.
	Probes(ctx context.Context) ([]coverage.Probe, error)
	ProbeSites() []httpapi.ProbeSite
	// ScanResults streams raw results of [from, to) in time order;
	// PlaceResult says where one was measured.
	ScanResults(ctx context.Context, from, to time.Time, fn func(store.Record) error) error
	PlaceResult(rec *store.Record) rollup.Cell
	// StoreFailed logs and counts a failure of the store before its 503.
	StoreFailed(op string, err error)
	// Panicked logs and counts a handler's panic before its 500.
	Panicked(r *http.Request, v any, stack []byte)
	// Evidence keeps the evidence layers (open data, the village census,
	// carriers' claims, speed tests); nil when the collector keeps none.
	Evidence() evidence.Store
}

// API serves the partners' endpoints.
type API struct {
	r        Reader
	log      *slog.Logger
	partners *partners
	openAPI  openAPIDoc
	// claimMu makes a claim's owner check and its put one step.
	claimMu sync.Mutex
}

// New serves partners (validated with Validate) from r; log gets one
// audit line per request.
func New(r Reader, partners []Config, log *slog.Logger) *API {
	return &API{r: r, log: log, partners: newPartners(partners, log)}
}

// panicked tells the reader of a handler's panic.
func (s *API) panicked(r *http.Request, v any, stack []byte) { s.r.Panicked(r, v, stack) }

// Routes registers the partners' export API, OGC API - Features and the
// OpenAPI document.
func (s *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/openapi.json", s.serveOpenAPI)
	for _, rt := range []struct {
		pattern string
		h       partnerHandler
	}{
		{"/api/v1/export/coverage", s.exportCoverage},
		{"/api/v1/export/tiles", s.exportTiles},
		{"/api/v1/export/blankspots", s.exportBlankspots},
		{"/api/v1/export/results", s.exportResults},
		{"/api/v1/export/tiles/{z}/{x}/{y}", s.exportMVT},
		{"/api/v1/export/evidence", s.exportEvidenceLayers},
		{"/api/v1/export/evidence/{id}", s.exportEvidence},
		{"/api/v1/claims", s.listClaims},
		{"/api/v1/claims/{id}", s.claimVersions},
		{"/ogc", s.ogcLanding},
		{"/ogc/{$}", s.ogcLanding},
		{"/ogc/conformance", s.ogcConformance},
		{"/ogc/collections", s.ogcCollections},
		{"/ogc/collections/{id}", s.ogcCollection},
		{"/ogc/collections/{id}/queryables", s.ogcQueryables},
		{"/ogc/collections/{id}/schema", s.ogcFeatureSchema},
		{"/ogc/collections/{id}/items", s.ogcItems},
		{"/ogc/collections/{id}/items/{fid}", s.ogcItem},
	} {
		mux.Handle("GET "+rt.pattern, s.partners.guard(rt.pattern, rt.h, s.panicked))
	}
	// Claims are written: the audit's endpoint says POST.
	mux.Handle("POST /api/v1/claims/{id}", s.partners.guard("POST /api/v1/claims/{id}", s.submitClaim, s.panicked))
}
