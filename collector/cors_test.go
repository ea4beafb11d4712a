package collector

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/wire"
)

func TestCORSConfigOrigins(t *testing.T) {
	for _, tc := range []struct{ origin, wantErr string }{
		{"https://grafana.example.org", ""},
		{"http://127.0.0.1:3000", ""},
		{"http://[::1]:8081", ""},
		{"*", "a wildcard is refused"},
		{"https://*.example.org", "a wildcard is refused"},
		{"https://grafana.example.org/", "no path"},
		{"https://grafana.example.org/d/x", "no path"},
		{"grafana.example.org", "http:// or https://"},
		{"ftp://grafana.example.org", "http:// or https://"},
		{"https://Grafana.example.org", "lower case"},
		{"https://grafana.example.org:443", "without the default port 443"},
		{"https://", "has no host"},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			_, err := ParseConfig([]byte("cors:\n  allowed_origins: [\""+tc.origin+"\"]\n"), t.TempDir())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), `cors.allowed_origins[0] "`+tc.origin+`"`):
				t.Fatalf("error %q does not name the key and the value", err)
			}
		})
	}
}

const corsOrigin = "http://127.0.0.1:3000"

func newCORSFixture(t *testing.T) *fixture {
	return newFixture(t, func(c *Config) {
		c.CORS.AllowedOrigins = []string{corsOrigin}
		c.Partners = []partner.Config{{Name: "all", KeySHA256: hash(keyAll), Raw: true}}
	})
}

// corsRequest sends method to path with origin, a preflight's headers when
// method is OPTIONS, and key when not empty.
func (f *fixture) corsRequest(method, path, origin, key string) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.http.URL+path, nil)
	req.Header.Set("Origin", origin)
	if method == http.MethodOptions {
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization,if-none-match")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestCORSPreflightAndAnswers checks every surface a map page reads: a
// preflight without a key is answered before authentication and rate
// limits (more of them than a partner's burst), a real read carries the
// headers a browser needs, and an unlisted origin or the ingest endpoint
// get none.
func TestCORSPreflightAndAnswers(t *testing.T) {
	f := newCORSFixture(t)
	for _, tc := range []struct{ path, key string }{
		{"/api/v1/coverage?level=3", "view-key"},
		{"/api/v1/coverage/tiles", "view-key"},
		{"/tiles/8/199/127.mvt", "view-key"},
		{"/api/v1/export/coverage", keyAll},
		{"/api/v1/export/tiles/8/199/127.mvt", keyAll},
		{"/ogc/collections", keyAll},
		{"/api/v1/openapi.json", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			for range 30 {
				resp := f.corsRequest(http.MethodOptions, tc.path, corsOrigin, "")
				h := resp.Header
				if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != corsOrigin ||
					h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Max-Age") != "600" ||
					h.Get("Access-Control-Allow-Methods") != "GET" ||
					!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") {
					t.Fatalf("preflight: %d %v", resp.StatusCode, h)
				}
			}
			resp := f.corsRequest(http.MethodGet, tc.path, corsOrigin, tc.key)
			h := resp.Header
			if resp.StatusCode != http.StatusOK || h.Get("Access-Control-Allow-Origin") != corsOrigin ||
				h.Get("Access-Control-Allow-Credentials") != "true" || !slices.Contains(h.Values("Vary"), "Origin") ||
				!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Etag") ||
				!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Retry-After") {
				t.Fatalf("GET after 30 preflights: %d %v", resp.StatusCode, h)
			}
			for _, method := range []string{http.MethodOptions, http.MethodGet} {
				resp := f.corsRequest(method, tc.path, "http://127.0.0.1:9999", tc.key)
				if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
					t.Errorf("%s from an unlisted origin: Access-Control-Allow-Origin %q", method, v)
				}
			}
		})
	}
	for _, path := range []string{"/api/v1/ingest", "/api/v1/probes/self/checks", "/metrics"} {
		resp := f.corsRequest(http.MethodOptions, path, corsOrigin, "")
		if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("preflight of %s answered for %q: it is not for browsers on other origins", path, v)
		}
	}
}

// TestCORSInChromium has a page on another origin fetch coverage with a
// viewer key, as a Grafana panel or a MapLibre page would: the browser
// sends the preflight, reads the answer and the ETag it exposes, and a
// page on an unlisted origin is refused.
func TestCORSInChromium(t *testing.T) {
	exe := chromium(t)
	f := newCORSFixture(t)
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 20, f.now, true, 12)}))
	page := `<!doctype html><script>
window.result = fetch(` + "`${new URLSearchParams(location.search).get('c')}/api/v1/coverage?level=3`" + `,
  {headers: {Authorization: 'Bearer view-key'}, credentials: 'include'})
  .then(async r => r.status + ' ' + (r.headers.get('ETag') ? 'etag' : 'no-etag') + ' ' + (await r.json()).features.length)
  .catch(e => 'refused: ' + e);
</script>`
	serve := func() *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(page))
		}))
		t.Cleanup(s.Close)
		return s
	}
	listed, unlisted := serve(), serve()
	f.srv.cfg.CORS.AllowedOrigins = []string{listed.URL}
	f.http.Config.Handler = f.srv.Handler()

	ctx := headlessChromium(t, exe)
	got := map[string]string{}
	for name, s := range map[string]*httptest.Server{"listed": listed, "unlisted": unlisted} {
		var out string
		err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/?c="+f.http.URL),
			chromedp.Evaluate(`window.result`, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
				return p.WithAwaitPromise(true)
			}))
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		got[name] = out
	}
	if got["listed"] != "200 etag 3" {
		t.Errorf("page on the listed origin read %q, want 200 etag 3 (status, ETag exposed, features)", got["listed"])
	}
	if !strings.HasPrefix(got["unlisted"], "refused") {
		t.Errorf("page on an unlisted origin read %q, want the browser to refuse it", got["unlisted"])
	}
}
