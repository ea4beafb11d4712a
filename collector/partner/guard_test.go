package partner

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/internal/testlog"
)

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestExportRateLimit(t *testing.T) {
	mux := http.NewServeMux()
	tight := RateLimit{RequestsPerSecond: 0.001, Burst: 3}
	New(nil, []Config{{Name: "tel", KeySHA256: hash("key-tel"), RateLimit: tight}, {Name: "ind", KeySHA256: hash("key-ind"), RateLimit: tight}},
		slog.New(slog.DiscardHandler)).Routes(mux)
	fetch := func(key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/ogc/conformance", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	for i := range 3 {
		if rec := fetch("key-tel"); rec.Code != 200 {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := fetch("key-tel")
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("4th request: %d Retry-After %q, want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Each partner has its own bucket.
	if rec := fetch("key-ind"); rec.Code != 200 {
		t.Errorf("another partner: %d, want 200", rec.Code)
	}
}

func TestRateLimitConfig(t *testing.T) {
	for _, tc := range []struct {
		rl      RateLimit
		wantErr string
		want    RateLimit
	}{
		{RateLimit{}, "", DefaultRateLimit},
		{RateLimit{RequestsPerSecond: 5}, "", RateLimit{5, DefaultRateLimit.Burst}},
		{RateLimit{Burst: 7}, "", RateLimit{DefaultRateLimit.RequestsPerSecond, 7}},
		{RateLimit{RequestsPerSecond: -1}, "partners[0].rate_limit.requests_per_second (-1) must be positive", RateLimit{}},
		{RateLimit{Burst: -2}, "partners[0].rate_limit.burst (-2) must be at least 1", RateLimit{}},
	} {
		err := Validate([]Config{{Name: "a", KeySHA256: hash("k"), RateLimit: tc.rl}})
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: error %v, want %q", tc.rl, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%+v: %v", tc.rl, err)
		case tc.rl.withDefaults() != tc.want:
			t.Errorf("%+v with defaults = %+v, want %+v", tc.rl, tc.rl.withDefaults(), tc.want)
		}
	}
}

// A 401 tells a missing key from an unknown one, never repeats the key,
// and challenges with Bearer and Basic, one header each.
func TestUnauthorizedSaysWhy(t *testing.T) {
	mux := http.NewServeMux()
	New(nil, []Config{{Name: "tel", KeySHA256: hash("key-tel")}}, slog.New(slog.DiscardHandler)).Routes(mux)
	fetch := func(auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/ogc/conformance", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	none, wrong, wrongBasic := fetch(""), fetch("Bearer not-the-key"), fetch("Basic "+base64.StdEncoding.EncodeToString([]byte("u:not-the-key")))
	for _, rec := range []*httptest.ResponseRecorder{none, wrong, wrongBasic} {
		if rec.Code != 401 {
			t.Fatalf("status %d, want 401", rec.Code)
		}
		if ch := rec.Header().Values("WWW-Authenticate"); len(ch) != 2 || !strings.HasPrefix(ch[0], "Bearer ") || !strings.HasPrefix(ch[1], "Basic ") {
			t.Errorf("challenges %q, want a Bearer and a Basic header", ch)
		}
		if strings.Contains(rec.Body.String(), "not-the-key") {
			t.Errorf("the 401 repeats the key: %s", rec.Body)
		}
	}
	if none.Body.String() == wrong.Body.String() || !strings.Contains(none.Body.String(), "needed") || !strings.Contains(wrong.Body.String(), "not known") {
		t.Errorf("no key: %s; unknown key: %s; want them told apart", none.Body, wrong.Body)
	}
	if wrong.Body.String() != wrongBasic.Body.String() {
		t.Errorf("an unknown key as Bearer (%s) and as Basic (%s) differ", wrong.Body, wrongBasic.Body)
	}
	if rec := fetch("Basic " + base64.StdEncoding.EncodeToString([]byte("anyone:key-tel"))); rec.Code != 200 {
		t.Errorf("Basic with the key as password: %d %s", rec.Code, rec.Body)
	}
}

// The audit line names the resource read, not only the route, and a
// handler that panics is answered and logged as a 500 with the bytes of
// that answer, and told to panicked once; a stream broken on purpose
// (http.ErrAbortHandler) is not a panic.
func TestAuditRecordsResourceAndPanics(t *testing.T) {
	log, logs := testlog.NewJSON()
	p := newPartners([]Config{{Name: "tel", KeySHA256: hash("key-tel")}}, log)
	var panics []any
	panicked := func(_ *http.Request, v any, stack []byte) {
		if len(stack) == 0 {
			t.Error("panicked without a stack")
		}
		panics = append(panics, v)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ogc/collections/{id}/items/{fid}", p.guard("/ogc/collections/{id}/items/{fid}",
		func(w http.ResponseWriter, r *http.Request, _ *scope, a *auditEntry) {
			switch r.PathValue("fid") {
			case "boom":
				var s []int
				_ = s[len(r.URL.Path)] // index out of range, as the offset overflow was
			case "abort":
				w.Write([]byte("partial"))
				http.NewResponseController(w).Flush() // the answer has begun: no retry
				panic(http.ErrAbortHandler)
			}
			a.rows = 1
			w.Write([]byte("{}"))
		}, panicked))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (int, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer key-tel")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return resp.StatusCode, err
	}
	if code, err := get("/ogc/collections/regions-3/items/36.01"); code != 200 || err != nil {
		t.Fatalf("feature: %d %v", code, err)
	}
	if code, err := get("/ogc/collections/tiles/items/boom"); code != 500 || err != nil {
		t.Fatalf("panicking handler: %d %v, want a 500", code, err)
	}
	if _, err := get("/ogc/collections/tiles/items/abort"); err == nil {
		t.Errorf("an aborted stream reached the client whole")
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("%d audit lines, want 3:\n%s", len(lines), logs)
	}
	for i, want := range []struct {
		resource string
		status   float64
	}{{"/ogc/collections/regions-3/items/36.01", 200}, {"/ogc/collections/tiles/items/boom", 500}, {"/ogc/collections/tiles/items/abort", 200}} {
		l := lines[i]
		if l["resource"] != want.resource || l["status"] != want.status || l["endpoint"] != "/ogc/collections/{id}/items/{fid}" {
			t.Errorf("audit line %d: resource %v status %v endpoint %v, want %s %g", i, l["resource"], l["status"], l["endpoint"], want.resource, want.status)
		}
		if bytes, _ := l["bytes"].(float64); bytes == 0 {
			t.Errorf("audit line %d: 0 bytes", i)
		}
	}
	if len(panics) != 1 {
		t.Errorf("panicked told %d times (%v), want once", len(panics), panics)
	}
}
