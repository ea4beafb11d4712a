package partner

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestExportRateLimit(t *testing.T) {
	saved := exportRate
	exportRate.every, exportRate.burst = 0.001, 3
	t.Cleanup(func() { exportRate = saved })
	mux := http.NewServeMux()
	New(nil, []Config{{Name: "tel", KeySHA256: hash("key-tel")}, {Name: "ind", KeySHA256: hash("key-ind")}},
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
