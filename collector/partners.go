package collector

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jangkau/jangkau/collector/ratelimit"
	"github.com/jangkau/jangkau/geo"
)

// PartnerConfig is a telecom partner with an API key and the scope of data
// it may read. Empty lists mean everything.
type PartnerConfig struct {
	Name      string `yaml:"name"`
	KeySHA256 string `yaml:"key_sha256"`
	// Carriers are the carriers whose results the partner may read.
	Carriers []string `yaml:"carriers"`
	// Regions are region code prefixes ("36.01" is the kabupaten and
	// everything in it).
	Regions []string `yaml:"regions"`
	// Raw lets the partner read raw results, not only aggregates.
	Raw bool `yaml:"raw"`
}

func (c *Config) validatePartners() error {
	names := map[string]int{}
	for i, p := range c.Partners {
		key := fmt.Sprintf("partners[%d]", i)
		switch {
		case !probeIDRE.MatchString(p.Name):
			return fmt.Errorf("%s.name %q must be 1-64 of A-Z a-z 0-9 . _ -", key, p.Name)
		case !validSHA256(p.KeySHA256):
			return fmt.Errorf("%s.key_sha256 %q must be 64 hex digits (sha256 of the key)", key, p.KeySHA256)
		}
		if j, dup := names[p.Name]; dup {
			return fmt.Errorf("%s.name %q is already partners[%d].name", key, p.Name, j)
		}
		names[p.Name] = i
		for j, carrier := range p.Carriers {
			if carrier == "" {
				return fmt.Errorf("%s.carriers[%d] must not be empty", key, j)
			}
		}
		for j, r := range p.Regions {
			if !regionCodeRE.MatchString(r) {
				return fmt.Errorf("%s.regions[%d] %q is not a region code prefix like 36.01", key, j, r)
			}
		}
	}
	return nil
}

// exportRate bounds each partner's request rate. Each partner has its own
// token bucket: 10 requests a second with bursts of 20 let a GIS client
// open every collection at once, and keep one partner from starving the
// others or the store. A variable so that tests can tighten it.
var exportRate = struct {
	every float64
	burst int
}{10, 20}

// partners authenticates partners and holds their scopes and buckets.
type partners struct {
	keys   keyring
	scopes map[string]*scope
	log    *slog.Logger
	limits *ratelimit.Keyed
}

func newPartners(cfg []PartnerConfig, log *slog.Logger) *partners {
	p := &partners{scopes: map[string]*scope{}, limits: ratelimit.New(exportRate.every, exportRate.burst), log: log}
	for _, pc := range cfg {
		p.keys.add(pc.Name, pc.KeySHA256)
		sc := &scope{name: pc.Name, raw: pc.Raw, regions: pc.Regions}
		if len(pc.Carriers) > 0 {
			sc.carriers = map[string]bool{}
			for _, c := range pc.Carriers {
				sc.carriers[c] = true
			}
		}
		p.scopes[pc.Name] = sc
	}
	return p
}

// partnerHandler is an export endpoint: it reads within sc and notes what
// it served in a.
type partnerHandler func(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry)

// guard authenticates the partner, applies its rate limit and writes one
// audit line per request. Neither a missing nor a wrong key says anything
// about the data.
func (p *partners) guard(endpoint string, h partnerHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		aw := &auditWriter{ResponseWriter: w}
		a := &auditEntry{}
		name, ok := p.keys.match(credential(r))
		// Deferred, so that a stream broken on purpose is logged too.
		defer func() {
			p.log.Info("export", "partner", name, "endpoint", endpoint, "filters", r.URL.RawQuery,
				"status", aw.status(), "rows", a.rows, "bytes", aw.n, "duration", time.Since(start))
		}()
		switch {
		case !ok:
			w.Header().Set("WWW-Authenticate", `Bearer realm="jangkau export"`)
			httpError(aw, http.StatusUnauthorized, "a partner key is needed: Authorization: Bearer KEY")
		default:
			if ok, wait := p.limits.Allow(name, start); !ok {
				aw.Header().Set("Retry-After", fmt.Sprint(ratelimit.RetryAfterSeconds(wait)))
				httpError(aw, http.StatusTooManyRequests, "too many requests: retry after the Retry-After header's seconds")
				break
			}
			h(aw, r, p.scopes[name], a)
		}
	})
}

// auditEntry is what a handler reports for the audit line.
type auditEntry struct{ rows int }

// auditWriter counts the bytes of a response.
type auditWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (w *auditWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// Flush lets a streamed export reach the partner as it goes.
func (w *auditWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *auditWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// exportRoutes registers the partners' export API and OGC API - Features.
func (s *Server) exportRoutes(mux *http.ServeMux) {
	p := newPartners(s.cfg.Partners, s.log)
	mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	for _, rt := range []struct {
		pattern string
		h       partnerHandler
	}{
		{"/api/v1/export/coverage", s.exportCoverage},
		{"/api/v1/export/tiles", s.exportTiles},
		{"/api/v1/export/blankspots", s.exportBlankspots},
		{"/api/v1/export/results", s.exportResults},
		{"/api/v1/export/tiles/{z}/{x}/{y}", s.exportMVT},
		{"/ogc", s.ogcLanding},
		{"/ogc/{$}", s.ogcLanding},
		{"/ogc/conformance", s.ogcConformance},
		{"/ogc/collections", s.ogcCollections},
		{"/ogc/collections/{id}", s.ogcCollection},
		{"/ogc/collections/{id}/items", s.ogcItems},
		{"/ogc/collections/{id}/items/{fid}", s.ogcItem},
	} {
		mux.Handle("GET "+rt.pattern, p.guard(rt.pattern, rt.h))
	}
}

// withinAny says whether code lies inside one of prefixes; none is all.
func withinAny(code string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if geo.Within(code, p) {
			return true
		}
	}
	return false
}
