package collector

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
)

// CORSConfig lets map pages on other origins (Grafana's Geomap, a MapLibre
// or OpenLayers page, a notebook) read the viewer API, the vector tiles,
// the export API and OGC API - Features from the browser.
//
// Cross-origin handling is github.com/rs/cors: it is small, has no
// dependencies, has been kept for a decade, and gets the parts that are
// easy to get wrong (preflight detection, Vary, header list matching,
// never answering an unlisted origin) right. We only refuse a wildcard:
// the answers carry credentials (a viewer or partner key), and a browser
// refuses `*` with credentials anyway.
type CORSConfig struct {
	// AllowedOrigins are the origins, scheme://host[:port] as the browser
	// sends them, whose pages may read the collector. An origin not in the
	// list gets no CORS headers at all, so its browser blocks the read.
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// What a cross-origin reader may do. Methods: only reads. Headers: the
// credential, revalidation, and what fetch(), MapLibre's and OpenLayers'
// loaders and GDAL-in-the-browser send beyond the CORS-safelisted ones.
// Exposed: what a client reads of an answer (ETag to revalidate, Link to
// page OGC items, Retry-After after a 429 or 503, Content-Length for
// progress, WWW-Authenticate to ask for a key).
var (
	corsMethods = []string{http.MethodGet, http.MethodHead}
	corsHeaders = []string{"Authorization", "If-None-Match", "If-Modified-Since", "Accept", "Accept-Language",
		"Content-Type", "Range", "Cache-Control", "X-Requested-With"}
	corsExposed = []string{"ETag", "Link", "Retry-After", "Content-Length", "Content-Encoding",
		"WWW-Authenticate", "Content-Disposition"}
)

// corsMaxAge lets a browser reuse a preflight answer for 10 minutes
// (Chromium caps it at 2 hours, Firefox at 24).
const corsMaxAge = 600

func (c *CORSConfig) validate() error {
	for i, o := range c.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("cors.allowed_origins[%d] %q: %w", i, o, err)
		}
	}
	return nil
}

// checkOrigin accepts an origin exactly as a browser writes it in the
// Origin header, so that a listed origin really matches.
func checkOrigin(o string) error {
	if strings.Contains(o, "*") {
		return fmt.Errorf("a wildcard is refused: answers carry credentials (viewer and partner keys), so list each origin, like https://grafana.example.org")
	}
	u, err := url.Parse(o)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must start with http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("has no host: write scheme://host[:port]")
	case u.User != nil:
		return fmt.Errorf("must not carry a user name")
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return fmt.Errorf("must be scheme://host[:port] with no path (not even a trailing /), as browsers send it")
	case o != strings.ToLower(o):
		return fmt.Errorf("must be lower case, as browsers send it")
	case (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443"):
		return fmt.Errorf("write it without the default port %s, as browsers send it", u.Port())
	}
	return nil
}

// corsPath says whether a path is read across origins: the viewer API
// (not ingest nor a probe's own catalogue), the export API, the OpenAPI
// document, the vector tiles and OGC API - Features.
func corsPath(p string) bool {
	switch {
	case p == "/api/v1/ingest", strings.HasPrefix(p, "/api/v1/probes/self/"):
		return false
	case strings.HasPrefix(p, "/api/v1/"), strings.HasPrefix(p, "/tiles/"), p == "/ogc", strings.HasPrefix(p, "/ogc/"):
		return true
	}
	return false
}

// withCORS answers preflights and marks answers for the listed origins on
// the paths corsPath names. It runs before routing, authentication and
// rate limits: a browser sends a preflight without credentials, and it
// must cost a partner nothing.
func withCORS(cfg CORSConfig, next http.Handler) http.Handler {
	if len(cfg.AllowedOrigins) == 0 {
		return next
	}
	c := cors.New(cors.Options{
		AllowedOrigins:   cfg.AllowedOrigins,
		AllowedMethods:   corsMethods,
		AllowedHeaders:   corsHeaders,
		ExposedHeaders:   corsExposed,
		AllowCredentials: true,
		MaxAge:           corsMaxAge,
	})
	withHeaders := c.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if corsPath(r.URL.Path) {
			withHeaders.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
