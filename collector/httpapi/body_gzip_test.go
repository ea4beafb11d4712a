package httpapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// A revalidated answer keeps its Content-Length when it is gzipped, so
// that GDAL's /vsicurl/ can open it whatever Accept-Encoding it sends.
func TestRevalidatedGzipKeepsLength(t *testing.T) {
	body := bytes.Repeat([]byte(`{"type":"Feature","properties":{"status":"blank"}},`), 200)
	srv := httptest.NewServer(Compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Revalidated(w, r, "application/json", body)
	})))
	defer srv.Close()
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{{"gzip", true}, {"br, gzip;q=0.5", true}, {"*", true}, {"gzip;q=0", false}, {"identity", false}, {"", false}} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Accept-Encoding", tc.accept)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", tc.accept, got, tc.gzip)
		}
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(raw)) {
			t.Errorf("Accept-Encoding %q: Content-Length %q for %d bytes (chunked: %v)", tc.accept, cl, len(raw), resp.TransferEncoding)
		}
		plain := raw
		if tc.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("Accept-Encoding %q: %v", tc.accept, err)
			}
			plain, _ = io.ReadAll(zr)
		}
		if !bytes.Equal(plain, body) {
			t.Errorf("Accept-Encoding %q: body differs (%d bytes, want %d)", tc.accept, len(plain), len(body))
		}
	}
}
