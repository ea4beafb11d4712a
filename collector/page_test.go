package collector

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// TestMapPageSinceAndWhy: the summary says since when each blank or silent
// kecamatan has been so, in the configured zone and to the minute, and
// why: Timur's uplink fails; Barat's uplink works while the e-service sso
// fails; Jauh's probe stopped reporting.
func TestMapPageSinceAndWhy(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.PublicRead = true
		c.Page.TimeZone = "Asia/Makassar" // WITA, UTC+8
		c.Probes = append(c.Probes, ProbeConfig{ID: "far", TokenSHA256: hash("tok-far"), Region: "99.02.01"})
	})
	post := func(tok string, b wire.Batch) {
		t.Helper()
		if code, _, raw := f.post(tok, gz(t, b)); code != 200 {
			t.Fatalf("ingest %s: %d %s", b.Probe, code, raw)
		}
	}
	// The clock is local, as time.Now is: in WIB, while the page shows WITA.
	wib := time.FixedZone("WIB", 7*3600)
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 27, h, m, s, 0, time.UTC).In(wib) }
	f.now = at(8, 53, 0)
	post("tok-far", wire.Batch{Probe: "far", Results: results(1, 10, f.now, true, 10)})
	f.now = at(9, 0, 0)
	// Timur: every uplink check fails from 08:53.
	post("tok-east", wire.Batch{Probe: "east", Results: results(1, 14, f.now, false, 5)})
	// Barat: sso fails every 30 s from 08:40; the uplink answers every 3 min.
	var west []wire.Result
	for i, r := range results(1, 40, f.now, false, 5) {
		r.Service = "sso"
		west = append(west, r)
		if i%6 == 2 {
			west = append(west, wire.Result{Seq: uint64(100 + i), Time: r.Time.Add(time.Second), Check: "ping",
				Kind: wire.KindHTTP, Target: "http://127.0.0.1:9/", OK: true, DurationMS: 10})
		}
	}
	post("tok-west", wire.Batch{Probe: "west", Results: west})

	code, body := f.raw("/?level=3&lang=en")
	if code != 200 {
		t.Fatalf("page: %d", code)
	}
	summary := body[strings.Index(body, `id="summary"`):]
	summary = summary[:strings.Index(summary, "</section>")]
	for code, want := range map[string]string{
		"99.01.02": "blank, since 16:53 WITA — why: uplink down.",
		"99.01.01": "blank, since 16:40 WITA — why: uplink fine; failing: sso.",
		"99.02.01": "silent, since 16:53 WITA — why: no report since 16:53 WITA: link or power cut.",
	} {
		i := strings.Index(summary, `<li data-code="`+code+`">`)
		if i < 0 {
			t.Errorf("summary does not list %s:\n%s", code, summary)
			continue
		}
		li := summary[i : i+strings.Index(summary[i:], "</li>")]
		if !strings.Contains(li, want) {
			t.Errorf("%s: %q lacks %q", code, li, want)
		}
	}
	_, body = f.raw("/?level=3")
	for _, want := range []string{"sejak 16.53 WITA — penyebab: uplink mati.", "4.000 penduduk terdampak"} {
		if !strings.Contains(body, want) {
			t.Errorf("Indonesian page lacks %q", want)
		}
	}
	// Kabupaten 99.01: both kecamatan measured, both blank.
	_, body = f.raw("/?level=2")
	for _, want := range []string{"terukur di 2 dari 2 kecamatan (3.000 dari 3.000 jiwa)", "3.000 penduduk terdampak"} {
		if !strings.Contains(body, want) {
			t.Errorf("Indonesian kabupaten page lacks %q", want)
		}
	}
}

// TestMapPageWeightBanten: the desa-level page of the real Banten
// boundaries (1,552 desa) goes out gzip'd well under 300 KB, and a
// refresh that changed nothing is a 304 without a body.
func TestMapPageWeightBanten(t *testing.T) {
	rs, err := region.LoadFile(geotest.File(t, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	desa := rs.Get("36.02.01.2002")
	if desa == nil {
		t.Fatal("banten-adm4 has no desa 36.02.01.2002")
	}
	f := newFixtureOn(t, rs, slog.New(slog.DiscardHandler), func(c *Config) {
		c.PublicRead = true
		c.Probes = []ProbeConfig{{ID: "east", TokenSHA256: hash("tok-east"), Region: desa.Code}}
	})
	if code, _, raw := f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: results(1, 20, f.now, false, 5)})); code != 200 {
		t.Fatalf("ingest: %d %s", code, raw)
	}
	req, err := http.NewRequest("GET", f.http.URL+"/?level=4", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("desa page: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	html, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(html), `data-code="36.02.01.2002"`) {
		t.Fatalf("the gzip'd page does not unpack to the desa map: %v", err)
	}
	t.Logf("desa page: %d bytes, %d gzip'd", len(html), len(body))
	if len(body) > 200<<10 {
		t.Errorf("desa page is %d bytes gzip'd, want well under 300 KB (at most 200 KiB)", len(body))
	}
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified || n != 0 {
		t.Errorf("refresh with the ETag: %d with %d body bytes, want 304 and none", resp.StatusCode, n)
	}
}

// TestMapPageTrend: a kabupaten row carries its last 7 days, oldest
// first: a good day three days ago, nothing in between, blank today.
func TestMapPageTrend(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	now := f.now
	f.now = now.Add(-72 * time.Hour)
	if code, _, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 20, f.now, true, 12)})); code != 200 {
		t.Fatalf("ingest: %d %s", code, raw)
	}
	f.now = now
	if code, _, raw := f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: results(1, 20, f.now, false, 5)})); code != 200 {
		t.Fatalf("ingest: %d %s", code, raw)
	}
	_, body := f.raw("/?level=2&lang=en")
	i := strings.Index(body, `<tr data-code="99.01">`)
	if i < 0 {
		t.Fatal("no row for 99.01")
	}
	tr := body[i : i+strings.Index(body[i:], "</tr>")]
	sparks := strings.Split(tr, `<svg class="spark"`)
	if len(sparks) != 3 {
		t.Fatalf("99.01's row has %d trends, want 7 and 30 days:\n%s", len(sparks)-1, tr)
	}
	week, month := sparks[1], sparks[2]
	want := `aria-label="availability over the last 7 days: –, –, –, 100.0%, –, –, 0.0%"`
	if !strings.Contains(week, want) || strings.Count(week, "<circle") != 2 {
		t.Errorf("99.01's trend lacks %s with two days drawn:\n%s", want, tr)
	}
	want = `aria-label="availability over the last 30 days: ` + strings.Repeat("–, ", 26) + `100.0%, –, –, 0.0%"`
	if !strings.Contains(month, want) || strings.Count(month, "<circle") != 2 {
		t.Errorf("99.01's 30-day trend lacks %s with two days drawn:\n%s", want, tr)
	}
	if _, body = f.raw("/?level=3&lang=en"); strings.Contains(body, `class="spark"`) {
		t.Error("the kecamatan page draws a trend; only levels up to 2 have one")
	}
}

// TestMapPageChangesSinceLastWeek: the province page lists what got worse
// and better since last week, per kabupaten and kecamatan: west's
// kecamatan was fine ten days ago and fails now, east's failed and is
// fine now; their kabupaten, half failing both times, did not change.
func TestMapPageChangesSinceLastWeek(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	now := f.now
	f.now = now.Add(-10 * 24 * time.Hour)
	for tok, ok := range map[string]bool{"tok-west": true, "tok-east": false} {
		if code, _, raw := f.post(tok, gz(t, wire.Batch{Probe: tok[4:], Results: results(1, 20, f.now, ok, 12)})); code != 200 {
			t.Fatalf("ingest: %d %s", code, raw)
		}
	}
	f.now = now
	for tok, ok := range map[string]bool{"tok-west": false, "tok-east": true} {
		if code, _, raw := f.post(tok, gz(t, wire.Batch{Probe: tok[4:], Results: results(100, 20, f.now, ok, 12)})); code != 200 {
			t.Fatalf("ingest: %d %s", code, raw)
		}
	}
	_, body := f.raw("/?level=1&lang=en")
	i := strings.Index(body, `id="changes"`)
	if i < 0 {
		t.Fatal("the province page has no changes section")
	}
	changes := body[i : i+strings.Index(body[i:], "</section>")]
	for _, want := range []string{
		`<ul id="worse"><li>Barat (99.01.01, kecamatan): good → blank</li></ul>`,
		`<ul id="better"><li>Timur (99.01.02, kecamatan): blank → good</li></ul>`,
	} {
		if !strings.Contains(changes, want) {
			t.Errorf("changes lack %s:\n%s", want, changes)
		}
	}
}
