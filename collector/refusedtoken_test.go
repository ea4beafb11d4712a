package collector

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/internal/testlog"
)

// TestRefusedTokenLogged: a probe presenting an unknown token is logged
// (it used to be answered 401 in silence), at most three lines at once,
// never with the token; the collector also says when it shuts down.
func TestRefusedTokenLogged(t *testing.T) {
	logger, logs := testlog.New()
	f := newFixtureOn(t, fixtureRegions(t), logger, nil)
	const token = "4de0cbb6f1e2d3c4b5a69788796a5b4c3d2e1f0011223344"
	for _, path := range []string{"/api/v1/ingest", "/api/v1/probes/self/checks", "/api/v1/ingest", "/api/v1/ingest", "/api/v1/ingest"} {
		method := http.MethodPost
		if strings.Contains(path, "checks") {
			method = http.MethodGet
		}
		req, _ := http.NewRequest(method, f.http.URL+path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s answered %d, want 401", path, resp.StatusCode)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "refused a probe token"); n != 3 {
		t.Errorf("%d refusal lines for 5 refused requests, want 3 (the burst):\n%s", n, out)
	}
	if !strings.Contains(out, "path=/api/v1/probes/self/checks") || !strings.Contains(out, "token_sha256_prefix="+hash(token)[:12]) {
		t.Errorf("refusal lines lack the path or the hash prefix:\n%s", out)
	}
	if strings.Contains(out, token) {
		t.Errorf("the token was logged:\n%s", out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "collector shutting down") {
		t.Errorf("shutdown not logged:\n%s", logs.String())
	}
}
