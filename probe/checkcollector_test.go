package probe

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
)

// TestCheckCollectorTLS: an https collector is verified against the
// system roots or ca_file; a certificate the probe cannot verify fails
// the row with what to do, and a verified one with a refused token says
// so. (cmd/jangkau's TestCheckAsksTheCollector runs the other cases
// against a real collector.)
func TestCheckCollectorTLS(t *testing.T) {
	const token = "tok-pdg-01"
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != checkspec.CataloguePath {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unknown probe token", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("checks: []\n"))
	}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ca, token string
		want            CollectorStatus
		wantErr         string
	}{
		{"unknown authority", "", token, CollectorStatus{Reachable: true, TLS: "failed"}, "TLS certificate is not verified"},
		{"verified", caFile, token, CollectorStatus{OK: true, Reachable: true, TLS: "verified", Token: "accepted"}, ""},
		{"verified, wrong token", caFile, "other", CollectorStatus{Reachable: true, TLS: "verified", Token: "refused"}, "token refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{ID: "pdg-01", Collector: srv.URL, Token: tc.token, CAFile: tc.ca, Upload: UploadConfig{Timeout: 5 * time.Second}}
			st := CheckCollector(t.Context(), cfg)
			if st.OK != tc.want.OK || st.Reachable != tc.want.Reachable || st.TLS != tc.want.TLS || st.Token != tc.want.Token {
				t.Errorf("status = %+v, want %+v", st, tc.want)
			}
			if !strings.Contains(st.Error, tc.wantErr) || (tc.wantErr == "") != (st.Error == "") {
				t.Errorf("error = %q, want one containing %q", st.Error, tc.wantErr)
			}
			var out strings.Builder
			if err := WriteCollectorStatus(&out, st, false); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), tc.token) {
				t.Errorf("the row shows the token: %s", out.String())
			}
		})
	}
}
