package collector

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// desaRegions is province 99 down to desa: Barat (99.01.01) holds two
// desa, Timur (99.01.02) one.
func desaRegions(t *testing.T) *region.Regions {
	t.Helper()
	mk := func(code, name string, pop int64, p orb.Polygon) *region.Region {
		return &region.Region{Code: code, Name: name, Level: 4, Population: pop, PopulationKnown: true, Geometry: p, Bound: p.Bound()}
	}
	rs, err := region.New([]*region.Region{
		mk("99.01.01.2001", "Sukamaju", 600, square(100, 0, 0.25)),
		mk("99.01.01.2002", "Sukamundur", 400, square(100.25, 0, 0.25)),
		mk("99.01.02.2001", "Timurjaya", 2000, square(100.5, 0, 0.5)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

var circleFill = regexp.MustCompile(`<circle [^>]*fill="(#[0-9A-Fa-f]{6})"`)

// TestRegionPage: a desa's page and its kecamatan's carry the last 7 and
// 30 days (7 × 20 results stored), each day in its status colour: the desa failed on 3 of the
// last 7 days and was fine on the other 4; nothing before. An unknown
// code is a 404 naming it.
func TestRegionPage(t *testing.T) {
	f := newFixtureOn(t, desaRegions(t), slog.New(slog.DiscardHandler), func(c *Config) {
		c.PublicRead = true
		c.Probes[0].Region = "99.01.01.2001"
	})
	now := f.now
	okDays := []bool{true, false, true, false, true, true, false} // 6 days ago .. today
	good, blank := coverage.StatusGood.Colour(), coverage.StatusBlank.Colour()
	var want []string
	for i, ok := range okDays {
		f.now = now.Add(-time.Duration(len(okDays)-1-i) * 24 * time.Hour)
		if code, _, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(uint64(1+100*i), 20, f.now, ok, 12)})); code != 200 {
			t.Fatalf("ingest: %d %s", code, raw)
		}
		want = append(want, map[bool]string{true: good, false: blank}[ok])
	}
	f.now = now
	if code, body := f.raw("/api/v1/coverage?level=4&window=168h&format=csv"); code != 200 || !regexp.MustCompile(`(?m)^99\.01\.01\.2001,Sukamaju,4,\w+,140,`).MatchString(body) {
		t.Fatalf("the week's results were not stored: %d\n%s", code, body)
	}
	for _, code := range []string{"99.01.01.2001", "99.01.01"} {
		status, body := f.raw("/?region=" + code + "&lang=en&level=2") // as linked from the kabupaten page
		if status != 200 {
			t.Fatalf("%s: %d %s", code, status, body)
		}
		if !strings.Contains(body, `data-code="`+code+`"`) {
			t.Errorf("%s's page does not show it:\n%s", code, body)
		}
		for _, c := range []struct {
			id   string
			days int
		}{{"trend7", 7}, {"trend30", 30}} {
			i := strings.Index(body, `id="`+c.id+`"`)
			if i < 0 {
				t.Errorf("%s's page has no %s chart", code, c.id)
				continue
			}
			chart, _, _ := strings.Cut(body[i:], "</svg>")
			_, label, _ := strings.Cut(chart, `aria-label="`)
			label, _, _ = strings.Cut(label, `">`)
			if n := strings.Count(label, ",") + 1; n != c.days {
				t.Errorf("%s's %s labels %d days, want %d: %s", code, c.id, n, c.days, label)
			}
			var fills []string
			for _, m := range circleFill.FindAllStringSubmatch(chart, -1) {
				fills = append(fills, m[1])
			}
			if strings.Join(fills, " ") != strings.Join(want, " ") {
				t.Errorf("%s's %s draws days in %v, want %v (good %s, blank %s)", code, c.id, fills, want, good, blank)
			}
		}
	}
	if _, body := f.raw("/?region=99.01.01.2001&lang=en"); !strings.Contains(body, `href="/?lang=en&amp;region=99.01.01"`) {
		t.Errorf("the desa page does not link its kecamatan:\n%s", body)
	}
	if _, body := f.raw("/?region=99.01.01&lang=en"); !strings.Contains(body, `region=99.01.01.2002"`) {
		t.Errorf("the kecamatan page does not link its desa:\n%s", body)
	}
	if _, body := f.raw("/?level=4&lang=en"); !regexp.MustCompile(`<th scope="row"><a href="[^"]*region=99\.01\.01\.2001">Sukamaju</a>`).MatchString(body) {
		t.Errorf("the desa table does not link the desa's page")
	}
	status, body := f.raw("/?region=99.09.09")
	if status != http.StatusNotFound || !strings.Contains(body, "99.09.09") {
		t.Errorf("an unknown region: %d %s, want 404 naming 99.09.09", status, body)
	}
}

// TestRegionPageWeightBanten: a desa's page on the real Banten boundaries
// (1,552 desa) is small: no map, two charts.
func TestRegionPageWeightBanten(t *testing.T) {
	rs, err := region.LoadFile(geotest.File(t, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const code = "36.02.01.2002"
	f := newFixtureOn(t, rs, slog.New(slog.DiscardHandler), func(c *Config) {
		c.PublicRead = true
		c.Probes = []ProbeConfig{{ID: "east", TokenSHA256: hash("tok-east"), Region: code}}
	})
	if code, _, raw := f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: results(1, 20, f.now, false, 5)})); code != 200 {
		t.Fatalf("ingest: %d %s", code, raw)
	}
	req, err := http.NewRequest("GET", f.http.URL+"/?region="+code, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	start := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("desa region page: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	html, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(html), `data-code="`+code+`"`) || strings.Count(string(html), `class="spark"`) != 2 {
		t.Fatalf("the gzip'd page does not unpack to the desa's page with two charts: %v\n%s", err, html)
	}
	t.Logf("desa region page: %d bytes, %d gzip'd, served in %v", len(html), len(body), took)
	if len(body) > 20<<10 {
		t.Errorf("desa region page is %d bytes gzip'd, want at most 20 KiB", len(body))
	}
}
