package partner

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
