package collector

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/wire"
)

// plain GETs without Go's transparent gzip, so that the test sees the
// headers as a client that asked for nothing would.
var plain = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func (f *fixture) do(path, key string, header ...string) (*http.Response, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.http.URL+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := plain.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, body
}

// TestTilesAndCoverageRevalidate: a whole body with its length, a strong
// ETag and Cache-Control, 304 when the client has it (also the gzip one),
// and gzip for a client that accepts it.
func TestTilesAndCoverageRevalidate(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Partners = []partner.Config{{Name: "all", KeySHA256: hash(keyAll), Raw: true}}
	})
	feedViews(t, f)
	for _, tc := range []struct{ path, key string }{
		{"/tiles/8/199/127.mvt", "view-key"},
		{"/api/v1/export/tiles/8/199/127.mvt", keyAll},
		{"/api/v1/coverage?level=3", "view-key"},
		{"/api/v1/coverage?level=3&format=csv", "view-key"},
		{"/api/v1/coverage/tiles", "view-key"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := f.do(tc.path, tc.key)
			h := resp.Header
			etag := h.Get("ETag")
			if resp.StatusCode != 200 || h.Get("Content-Length") != strconv.Itoa(len(body)) || len(body) == 0 ||
				!regexp.MustCompile(`^"[A-Za-z0-9_-]{16,}"$`).MatchString(etag) || !strings.Contains(h.Get("Cache-Control"), "max-age=") {
				t.Fatalf("%d Content-Length %q (body %d) ETag %q Cache-Control %q", resp.StatusCode,
					h.Get("Content-Length"), len(body), etag, h.Get("Cache-Control"))
			}
			resp, again := f.do(tc.path, tc.key, "If-None-Match", etag)
			if resp.StatusCode != http.StatusNotModified || len(again) != 0 || resp.Header.Get("ETag") != etag {
				t.Fatalf("revalidation with %s: %d, %d bytes, ETag %q", etag, resp.StatusCode, len(again), resp.Header.Get("ETag"))
			}
			resp, zipped := f.do(tc.path, tc.key, "Accept-Encoding", "gzip")
			if resp.StatusCode != 200 {
				t.Fatalf("gzip: %d", resp.StatusCode)
			}
			if len(body) >= 1024 {
				zr, err := gzip.NewReader(bytes.NewReader(zipped))
				if resp.Header.Get("Content-Encoding") != "gzip" || err != nil {
					t.Fatalf("Accept-Encoding: gzip got Content-Encoding %q (%v)", resp.Header.Get("Content-Encoding"), err)
				}
				unzipped, _ := io.ReadAll(zr)
				if !bytes.Equal(unzipped, body) {
					t.Fatal("the gzip body is not the plain one")
				}
				gzTag := resp.Header.Get("ETag")
				if gzTag == etag || gzTag == "" {
					t.Fatalf("the gzip body has ETag %q, the plain one %q: a strong ETag must differ", gzTag, etag)
				}
				if resp, _ := f.do(tc.path, tc.key, "Accept-Encoding", "gzip", "If-None-Match", gzTag); resp.StatusCode != http.StatusNotModified {
					t.Fatalf("revalidation with the gzip ETag %s: %d", gzTag, resp.StatusCode)
				}
			}
		})
	}
}

// TestGDALOpensATileOverVSICurl opens a vector tile as GDAL does a remote
// file: /vsicurl/ needs the size before it reads.
func TestGDALOpensATileOverVSICurl(t *testing.T) {
	bin := needOgrinfo(t)
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	// A survey walk over 400 points fills the tile's map-cell layer, so
	// that the tile is past what net/http sizes by itself (2 KiB).
	var walk []wire.Result
	for i := range 400 {
		r := results(uint64(i+1), 1, f.now.Add(-time.Duration(i)*time.Second), i%3 != 0, 20)[0]
		r.Location = &wire.Location{Lat: 0.01 + 0.024*float64(i%20), Lon: 100.01 + 0.074*float64(i/20)}
		walk = append(walk, r)
	}
	if code, _, raw := f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: walk})); code != 200 {
		t.Fatalf("ingest: %d %s", code, raw)
	}
	if _, body := f.do("/tiles/8/199/127.mvt", ""); len(body) < 4<<10 {
		t.Fatalf("the tile has %d bytes: too small to show a chunked answer", len(body))
	}
	cmd := exec.Command(bin, "-ro", "-al", "-so", "/vsicurl/"+f.http.URL+"/tiles/8/199/127.mvt")
	cmd.Env = append(cmd.Environ(), "GDAL_HTTP_PROXY=", "http_proxy=", "HTTP_PROXY=", "NO_PROXY=127.0.0.1", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS=.mvt")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo /vsicurl/: %v\n%s", err, out)
	}
	for _, layer := range []string{"Layer name: regions", "Layer name: probes"} {
		if !strings.Contains(string(out), layer) {
			t.Errorf("ogrinfo did not list %q:\n%s", layer, out)
		}
	}
}

var longDecimal = regexp.MustCompile(`\d\.\d{8,}`)

// TestCoordinatesHaveSevenDecimals: tile polygons come from web-mercator
// maths with 15 digits of noise; answers carry 7.
func TestCoordinatesHaveSevenDecimals(t *testing.T) {
	f := newFixture(t, nil)
	feedViews(t, f)
	for _, path := range []string{"/api/v1/coverage/tiles", "/api/v1/coverage/tiles?format=csv", "/api/v1/coverage?level=3"} {
		_, body := f.do(path, "view-key")
		if !bytes.Contains(body, []byte("100.")) {
			t.Fatalf("%s has no coordinates: %s", path, body)
		}
		if m := longDecimal.Find(body); m != nil {
			t.Errorf("%s carries %s: more than 7 decimals", path, m)
		}
	}
}

// TestMVTHasEveryProbeTheOGCCollectionHas: the probe placed by region
// code only is in the vector tile's probes layer, at the OGC point.
func TestMVTHasEveryProbeTheOGCCollectionHas(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Partners = []partner.Config{{Name: "all", KeySHA256: hash(keyAll), Raw: true}}
	})
	feedViews(t, f)
	_, body := f.do("/ogc/collections/probes/items", keyAll)
	fc, err := geojson.UnmarshalFeatureCollection(body)
	if err != nil {
		t.Fatalf("ogc probes: %v\n%s", err, body)
	}
	ogc := map[string]orb.Point{}
	for _, ft := range fc.Features {
		ogc[ft.Properties.MustString("id")] = ft.Geometry.(orb.Point)
	}
	for _, path := range []string{"/tiles/8/199/127.mvt", "/api/v1/export/tiles/8/199/127.mvt"} {
		key := "view-key"
		if strings.Contains(path, "export") {
			key = keyAll
		}
		_, data := f.do(path, key)
		layers, err := mvt.Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		layers.ProjectToWGS84(maptile.New(199, 127, 8))
		got := map[string]orb.Point{}
		for _, l := range layers {
			if l.Name != "probes" {
				continue
			}
			for _, ft := range l.Features {
				got[ft.Properties.MustString("id")] = ft.Geometry.(orb.Point)
			}
		}
		var ids []string
		for id := range ogc {
			ids = append(ids, id)
		}
		for id := range got {
			if _, ok := ogc[id]; !ok {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			o, inOGC := ogc[id]
			m, inMVT := got[id]
			if !inOGC || !inMVT {
				t.Errorf("%s: probe %s in OGC %v, in the tile %v", path, id, inOGC, inMVT)
				continue
			}
			// A 4096-unit tile of 1.4 degrees places a point within 0.0004.
			if math.Abs(o.Lon()-m.Lon()) > 0.001 || math.Abs(o.Lat()-m.Lat()) > 0.001 {
				t.Errorf("%s: probe %s at %v in the tile, %v in OGC", path, id, m, o)
			}
		}
		if len(ids) < 2 {
			t.Errorf("%s: probes %v, want west (by region) and east (by location)", path, ids)
		}
	}
}
