package collector

// The done-when check of issue 18: the fixtures loaded through the import
// API and a carrier's claim through the partner API on Banten's real
// desa; the desa-level map page shows every desa with evidence, says
// which are measured and which only reported, and lists the disputed
// claim. The expected desa are counted from the fixtures' own rows, not
// from the views.

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb/geojson"

	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/geo/tile"
)

const claimCarrier = "Telkomsel"

// evidenceExpect is what the fixtures say, desa by desa, read here from
// their rows.
type evidenceExpect struct {
	measured, reported map[string]bool // desa with Ookla tiles or speed tests; with a Podes row
	ookla, speedtest   map[string]bool // the measured, by source
	claimed            string          // the desa the test's claim covers
	failed             int             // the claimant's failed speed tests there
}

// loadEvidenceOnBanten imports the fixtures and posts a Telkomsel 4G
// claim over a desa where every Telkomsel speed test failed.
func loadEvidenceOnBanten(t *testing.T) (*evidenceFixture, evidenceExpect) {
	t.Helper()
	f := newEvidenceFixture(t, func(c *Config) {
		c.PublicRead = true
		c.Partners = []partner.Config{{Name: "tsel", KeySHA256: hash("tsel-key"), Carriers: []string{claimCarrier}, Submit: true}}
	})
	ex := evidenceExpect{measured: map[string]bool{}, reported: map[string]bool{}, ookla: map[string]bool{}, speedtest: map[string]bool{}}
	layers := []struct {
		id, file string
		q        url.Values
	}{
		{"podes-2024", "podes-2024.csv", podesQuery()},
		{"ookla-mobile-2024q3", "ookla-mobile-2024q3.csv", url.Values{"kind": {"ookla"}, "network": {"mobile"}, "source": {"Ookla"},
			"licence": {"CC BY-NC-SA 4.0"}, "date": {"2024-07-01"}}},
		{"survey-2024-08", "speedtests-field-2024.csv", url.Values{"kind": {"speedtest"}, "source": {"Diskominfo Banten field survey"},
			"licence": {"internal"}, "date": {"2024-08-12"}}},
	}
	for _, l := range layers {
		if code, ans := f.post(l.id, l.q, "import-key", "text/csv", bytes.NewReader(evidenceFile(t, l.file))); code != http.StatusCreated {
			t.Fatalf("import %s: %d %v", l.id, code, ans)
		}
	}
	for _, row := range csvRows(t, evidenceFile(t, "podes-2024.csv")) {
		c := row[0]
		if r := bantenDesa.Get(c[0:2] + "." + c[2:4] + "." + c[4:6] + "." + c[6:]); r != nil {
			ex.reported[r.Code] = true
		}
	}
	for _, row := range csvRows(t, evidenceFile(t, "ookla-mobile-2024q3.csv")) {
		qk, err := tile.ParseQuadkey(row[0])
		if err != nil {
			t.Fatal(err)
		}
		c := qk.Bound().Center()
		if r := bantenDesa.Locate(c.Lat(), c.Lon()); r != nil {
			ex.measured[r.Code], ex.ookla[r.Code] = true, true
		}
	}
	tests := map[string][]float64{} // the claimant's downloads per desa
	for _, row := range csvRows(t, evidenceFile(t, "speedtests-field-2024.csv")) {
		lat, _ := strconv.ParseFloat(row[1], 64)
		lon, _ := strconv.ParseFloat(row[2], 64)
		down, _ := strconv.ParseFloat(row[4], 64)
		r := bantenDesa.Locate(lat, lon)
		if r == nil {
			continue
		}
		ex.measured[r.Code], ex.speedtest[r.Code] = true, true
		if row[3] == claimCarrier {
			tests[r.Code] = append(tests[r.Code], down)
		}
	}
	for code, downs := range tests {
		failed := 0
		for _, d := range downs {
			if d == 0 {
				failed++
			}
		}
		if failed == len(downs) && (ex.claimed == "" || code < ex.claimed) {
			ex.claimed, ex.failed = code, failed
		}
	}
	if ex.claimed == "" {
		t.Fatalf("the speed test fixture has no desa where every %s test failed", claimCarrier)
	}
	g, _ := json.Marshal(geojson.NewGeometry(bantenDesa.Get(ex.claimed).Geometry))
	body := `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":` + string(g) +
		`,"properties":{"technology":"4G","as_of":"2026-10-01"}}]}`
	req, _ := http.NewRequest(http.MethodPost, f.url+"/api/v1/claims/tsel-banten?carrier="+url.QueryEscape(claimCarrier), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/geo+json")
	req.Header.Set("Authorization", "Bearer tsel-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("claim: %d %s", resp.StatusCode, raw)
	}
	return f, ex
}

func getPage(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

var pageEvidenceRow = regexp.MustCompile(`<tr data-code="([^"]+)">.*?<td class="ev[^"]*">([^<]*)</td></tr>`)

// pageEvidence reads the desa rows' evidence texts.
func pageEvidence(page string) map[string]string {
	out := map[string]string{}
	for _, m := range pageEvidenceRow.FindAllStringSubmatch(page, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

func TestEvidenceMapOnBanten(t *testing.T) {
	f, ex := loadEvidenceOnBanten(t)
	if len(ex.measured) == 0 || len(ex.reported) == 0 {
		t.Fatalf("fixtures read as %d measured and %d reported desa", len(ex.measured), len(ex.reported))
	}
	page := getPage(t, f.url+"/?level=4&evidence=all&lang=en")
	rows := pageEvidence(page)
	if len(rows) != len(bantenDesa.Level(4)) {
		t.Fatalf("the desa map lists %d desa with an evidence text, want all %d", len(rows), len(bantenDesa.Level(4)))
	}
	with := 0
	for code, text := range rows {
		want := ""
		switch {
		case ex.measured[code]:
			want = "(measured)"
		case ex.reported[code]:
			want = "(only reported)"
		case code == ex.claimed:
			want = "(only claimed)"
		}
		if want == "" {
			if !strings.HasPrefix(text, "no evidence") {
				t.Errorf("desa %s has no row in the fixtures, but the page says %q", code, text)
			}
			continue
		}
		with++
		if !strings.Contains(text, want) {
			t.Errorf("desa %s: page says %q, want %s", code, text, want)
		}
		if ex.reported[code] && !strings.Contains(text, "per BPS (Podes 2024)") {
			t.Errorf("desa %s: page says %q, without its Podes row", code, text)
		}
	}
	union := map[string]bool{ex.claimed: true}
	for c := range ex.measured {
		union[c] = true
	}
	for c := range ex.reported {
		union[c] = true
	}
	if with != len(union) {
		t.Errorf("the page shows %d desa with evidence, the fixtures and the claim have %d", with, len(union))
	}
	head := regexp.MustCompile(`<p id="evidence-head">([^<]*)</p>`).FindStringSubmatch(page)
	if head == nil || !strings.HasPrefix(head[1], strconv.Itoa(len(union))+" desa/kelurahan with evidence: ") {
		t.Errorf("evidence head %q, want %d desa with evidence", head, len(union))
	}
	want := claimCarrier + " claims 4G: disputed by " + strconv.Itoa(ex.failed) + " speed test"
	disputes := regexp.MustCompile(`(?s)<ul id="disputes">(.*?)</ul>`).FindStringSubmatch(page)
	if disputes == nil || !strings.Contains(disputes[1], `data-code="`+ex.claimed+`"`) || !strings.Contains(html.UnescapeString(disputes[1]), want) {
		t.Fatalf("disputed claims %q, want %s in %s", disputes, want, ex.claimed)
	}
	if !strings.Contains(rows[ex.claimed], want) {
		t.Errorf("desa %s says %q, want %q", ex.claimed, rows[ex.claimed], want)
	}

	// The disputed switch keeps that desa alone; Bahasa says it too.
	rows = pageEvidence(getPage(t, f.url+"/?level=4&evidence=disputed"))
	if len(rows) != 1 || !strings.Contains(rows[ex.claimed], claimCarrier+" mengklaim 4G: dibantah oleh "+strconv.Itoa(ex.failed)+" uji kecepatan") {
		t.Errorf("disputed map lists %v, want %s alone, disputed in Bahasa", rows, ex.claimed)
	}
	// The region page of the desa says it in words.
	region := getPage(t, f.url+"/?region="+ex.claimed+"&lang=en")
	if !strings.Contains(html.UnescapeString(region), want) {
		t.Errorf("region page of %s does not say %q", ex.claimed, want)
	}
	// The measured map (no switch) is today's map, without evidence.
	if p := getPage(t, f.url+"/?level=4&lang=en"); strings.Contains(p, `id="evidence"`) || len(pageEvidence(p)) != 0 {
		t.Errorf("the measured map shows evidence")
	}
}

// TestEvidenceSwitchInChromium: at desktop and phone width, the switch
// is links that work without script, and the disputed claim is there.
func TestEvidenceSwitchInChromium(t *testing.T) {
	exe := chromium(t)
	f, ex := loadEvidenceOnBanten(t)
	for _, tc := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1400, 1000, false}, {"phone", 420, 900, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := headlessChromium(t, exe)
			var got struct {
				Current, Disputes, Label, Path string
				Rows, Width, ScrollWidth       float64
			}
			var all struct {
				Legend string
				Rows   float64
			}
			vp := []chromedp.EmulateViewportOption{}
			if tc.mobile {
				vp = append(vp, chromedp.EmulateMobile, chromedp.EmulateTouch)
			}
			err := chromedp.Run(ctx,
				chromedp.EmulateViewport(tc.width, tc.height, vp...),
				chromedp.Navigate(f.url+"/?level=4&lang=en"),
				chromedp.WaitVisible(`#evidence-switch`, chromedp.ByQuery),
				chromedp.Click(`//ul[@id="evidence-switch"]//a[text()="all evidence"]`, chromedp.BySearch),
				chromedp.WaitVisible(`#evidence-legend`, chromedp.ByQuery),
				chromedp.Evaluate(`({Legend: document.querySelector('#evidence-legend').innerText,
					Rows: document.querySelectorAll('#regions td.ev').length})`, &all),
				chromedp.Click(`//ul[@id="evidence-switch"]//a[text()="disputed claims"]`, chromedp.BySearch),
				chromedp.WaitVisible(`#disputes`, chromedp.ByQuery),
				chromedp.Evaluate(`(() => {
					const row = document.querySelector('#regions tbody tr');
					return {
						Current: document.querySelector('#evidence-switch strong').innerText,
						Disputes: document.querySelector('#disputes').innerText,
						Label: getComputedStyle(row.querySelector('td.ev'), '::before').content,
						Path: location.search,
						Rows: document.querySelectorAll('#regions tbody tr').length,
						Width: window.innerWidth, ScrollWidth: document.documentElement.scrollWidth,
					};
				})()`, &got),
			)
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			if int(all.Rows) != len(bantenDesa.Level(4)) || !strings.Contains(all.Legend, "measured (") || !strings.Contains(all.Legend, "only reported (") {
				t.Errorf("all evidence: %v desa rows with evidence, legend %q; want %d rows and the bases counted",
					all.Rows, all.Legend, len(bantenDesa.Level(4)))
			}
			want := claimCarrier + " claims 4G: disputed by " + strconv.Itoa(ex.failed) + " speed test"
			if got.Current != "disputed claims" || !strings.Contains(got.Path, "evidence=disputed") || got.Rows != 1 ||
				!strings.Contains(got.Disputes, want) || !strings.Contains(got.Disputes, ex.claimed) {
				t.Errorf("after the switch: %+v; want disputed claims current, 1 row, %q in %s", got, want, ex.claimed)
			}
			if tc.mobile && (got.Label != `"evidence: "` || got.ScrollWidth > got.Width) {
				t.Errorf("phone: card labels its evidence %s, page %v px wide in %v", got.Label, got.ScrollWidth, got.Width)
			}
		})
	}
}

// TestEvidenceCountsOnBanten prints the counts per source the note
// (docs/evidence.md) shows, from GET /api/v1/evidence with the fixtures
// and the claim loaded, and checks the measured sources' counts against
// the fixtures' own rows:
//
//	go test ./collector -run TestEvidenceCountsOnBanten -v
func TestEvidenceCountsOnBanten(t *testing.T) {
	f, ex := loadEvidenceOnBanten(t)
	var body struct {
		Counts struct {
			Places   int
			Basis    map[string]int
			Disputed int
			Sources  map[string]int
		}
	}
	resp, err := http.Get(f.url + "/api/v1/evidence?level=4")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("evidence: %d %v", resp.StatusCode, err)
	}
	c := body.Counts
	for layer, want := range map[string]int{"ookla-mobile-2024q3": len(ex.ookla), "survey-2024-08": len(ex.speedtest), "tsel-banten": 1} {
		if c.Sources[layer] != want {
			t.Errorf("%s: %d desa with evidence, the fixture's rows lie in %d", layer, c.Sources[layer], want)
		}
	}
	if c.Disputed != 1 {
		t.Errorf("%d desa disputed, want the claimed desa alone", c.Disputed)
	}
	with := c.Basis["measured"] + c.Basis["reported"] + c.Basis["claimed"]
	t.Logf("Banten, %d desa; fixtures and one Telkomsel 4G claim loaded:\n"+
		"  desa with evidence per source: Podes 2024 %d, Ookla %d, speed tests %d, claims %d, probes and survey passes %d\n"+
		"  desa with evidence %d: measured %d, only reported %d, only claimed %d; disputed %d",
		c.Places, c.Sources["podes-2024"], c.Sources["ookla-mobile-2024q3"], c.Sources["survey-2024-08"], c.Sources["tsel-banten"],
		c.Sources["probes"]+c.Sources["survey"], with, c.Basis["measured"], c.Basis["reported"], c.Basis["claimed"], c.Disputed)
}
