package collector

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/jangkau/jangkau/internal/testenv"
	"github.com/jangkau/jangkau/wire"
)

// TestCoverageGzipInClients: the coverage GeoJSON, gzipped from parts
// joined into one member (httpapi), reads the same in the clients that
// ask for it gzipped: curl (zlib), Chromium's fetch and GDAL. Asked twice,
// with results in between, so that the second answer reuses the parts of
// the regions that did not change and compresses the others again.
func TestCoverageGzipInClients(t *testing.T) {
	curl := testenv.LookPath(t, "curl", "curl")
	ogrinfo := testenv.LookPath(t, "ogrinfo", "gdal-bin")
	exe := chromium(t)
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	url := f.http.URL + "/api/v1/coverage?level=3"
	ctx := headlessChromium(t, exe)

	for round, batch := range []wire.Batch{
		{Probe: "west", Results: results(1, 20, f.now, true, 12)},
		{Probe: "east", Results: results(100, 20, f.now, false, 5)},
	} {
		if code, _, body := f.post("tok-"+batch.Probe, gz(t, batch)); code != http.StatusOK {
			t.Fatalf("ingest: %d %s", code, body)
		}
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(plain) < 1024 || !json.Valid(plain) {
			t.Fatalf("round %d: the plain answer is %d bytes (valid JSON %v): too small to be gzipped", round, len(plain), json.Valid(plain))
		}

		head, err := exec.Command(curl, "-sS", "-D", "-", "-o", "/dev/null", "-H", "Accept-Encoding: gzip", url).Output()
		if err != nil || !strings.Contains(strings.ToLower(string(head)), "content-encoding: gzip") {
			t.Fatalf("round %d: curl asking for gzip got %v:\n%s", round, err, head)
		}
		got, err := exec.Command(curl, "-sS", "--compressed", url).Output()
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round %d: curl --compressed: %v, %d bytes, want the %d of the plain answer", round, err, len(got), len(plain))
		}

		var text string
		err = chromedp.Run(ctx, chromedp.Navigate(url),
			chromedp.Evaluate(`fetch('/api/v1/coverage?level=3', {cache: 'no-store'}).then(async r => r.headers.get('Content-Length') + ' ' + await r.text())`, &text,
				func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		length, body, _ := strings.Cut(text, " ")
		if body != string(plain) || length == "" || length == "null" {
			t.Fatalf("round %d: Chromium read %d bytes (Content-Length %s), want the %d of the plain answer", round, len(body), length, len(plain))
		}
		if n, _ := json.Marshal(len(plain)); length == string(n) {
			t.Fatalf("round %d: Chromium got the answer uncompressed (Content-Length %s)", round, length)
		}

		var fc struct{ Features []json.RawMessage }
		if err := json.Unmarshal(plain, &fc); err != nil {
			t.Fatal(err)
		}
		ogr := exec.Command(ogrinfo, "-ro", "-al", "-so", url)
		ogr.Env = append(os.Environ(), "CPL_CURL_GZIP=YES", "CPL_CURL_VERBOSE=YES")
		out, err := ogr.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Feature Count: "+strconv.Itoa(len(fc.Features))) {
			t.Fatalf("round %d: ogrinfo: %v, want %d features:\n%s", round, err, len(fc.Features), out)
		}
		if !strings.Contains(strings.ToLower(string(out)), "content-encoding: gzip") {
			t.Fatalf("round %d: GDAL did not get the answer gzipped:\n%s", round, out)
		}
	}
}
