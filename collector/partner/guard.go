package partner

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jangkau/jangkau/collector/apikey"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/ratelimit"
)

// realm names the collector in the 401 challenges, the same realm as the
// viewer API's, so that a client keeps one password for both.
const realm = "jangkau"

// partners authenticates partners and holds their scopes and buckets.
type partners struct {
	keys   apikey.Ring
	scopes map[string]*scope
	log    *slog.Logger
	// limits holds each partner's bucket, keyed by partner name; each
	// partner has its own rate (Config.RateLimit), so one each.
	limits map[string]*ratelimit.Keyed
}

func newPartners(cfg []Config, log *slog.Logger) *partners {
	p := &partners{scopes: map[string]*scope{}, limits: map[string]*ratelimit.Keyed{}, log: log}
	for _, pc := range cfg {
		p.keys.Add(pc.Name, pc.KeySHA256)
		rl := pc.RateLimit.withDefaults()
		p.limits[pc.Name] = ratelimit.New(rl.RequestsPerSecond, rl.Burst)
		sc := &scope{name: pc.Name, raw: pc.Raw, regions: pc.Regions, submit: pc.Submit, claims: pc.ClaimLimits.withDefaults()}
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

// Messages of a 401: a missing key and a key that is not known are told
// apart (the status is the same), and neither repeats the key.
const (
	msgNoKey      = "a partner key is needed: send Authorization: Bearer KEY, or Basic with any user name and KEY as the password"
	msgUnknownKey = "the partner key is not known: check the key, or ask the operator to add its sha256 to partners[].key_sha256"
)

// guard authenticates the partner, applies its rate limit and writes one
// audit line per request: the route (endpoint) and what it read
// (resource, the path with its collection, feature or tile). Neither a
// missing nor a wrong key says anything about the data. A handler's panic
// is answered 500 inside the audit (httpapi.Recover), so that the line
// says 500, and told to panicked.
func (p *partners) guard(endpoint string, h partnerHandler, panicked httpapi.Panicked) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		aw := &auditWriter{ResponseWriter: w}
		a := &auditEntry{}
		secret := apikey.FromRequest(r)
		name, ok := p.keys.Match(secret)
		// Deferred, so that a stream broken on purpose is logged too.
		defer func() {
			p.log.Info("export", "partner", name, "endpoint", endpoint, "resource", clipPath(r.URL.Path),
				"filters", clipPath(r.URL.RawQuery), "status", aw.status(), "rows", a.rows, "bytes", aw.n,
				"duration", time.Since(start))
		}()
		httpapi.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case !ok:
				apikey.Challenge(w.Header(), realm)
				msg := msgUnknownKey
				if secret == "" {
					msg = msgNoKey
				}
				httpapi.Error(w, http.StatusUnauthorized, msg)
			default:
				if ok, wait := p.limits[name].Allow(name, start); !ok {
					w.Header().Set("Retry-After", fmt.Sprint(ratelimit.RetryAfterSeconds(wait)))
					httpapi.Error(w, http.StatusTooManyRequests, "too many requests: retry after the Retry-After header's seconds")
					break
				}
				h(w, r, p.scopes[name], a)
			}
		}), panicked).ServeHTTP(aw, r)
	})
}

// maxAuditPath is the longest path or query an audit line holds: a
// request line may be a megabyte.
const maxAuditPath = 512

func clipPath(s string) string {
	if len(s) <= maxAuditPath {
		return s
	}
	return s[:maxAuditPath] + "…"
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
