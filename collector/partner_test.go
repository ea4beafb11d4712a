package collector

// These tests drive the partner surface (collector/partner) through the
// assembled collector: every result goes in through ingest and comes out
// of an export, so that the scope is proven on the stored data.

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/wire"
)

// Partner keys of the export fixture.
const (
	keyTel = "key-telkom"   // carriers [telkom], raw
	keyInd = "key-indosat"  // carriers [indosat], no raw
	keyKab = "key-kab-9901" // regions [99.01], every carrier, raw
	keyAll = "key-all"      // everything, raw
)

// newExportFixture has two carriers: telkom measures 99.01.01 (good),
// 99.02.01 (blank for the last two hours, good before) and stands silent
// in 99.01.02 (last report an hour ago); indosat measures 99.01.01
// (blank) and 99.01.02 (good). Every result goes through the real ingest
// endpoint.
func newExportFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, func(c *Config) {
		c.Probes = []ProbeConfig{
			{ID: "west", TokenSHA256: hash("tok-west"), Region: "99.01.01", Location: &Location{Lat: 0.25, Lon: 100.25}, Carrier: "telkom"},
			{ID: "far", TokenSHA256: hash("tok-far"), Location: &Location{Lat: 0.25, Lon: 101.25}, Carrier: "telkom"},
			{ID: "quiet", TokenSHA256: hash("tok-quiet"), Location: &Location{Lat: 0.1, Lon: 100.9}, Carrier: "telkom"},
			{ID: "mix", TokenSHA256: hash("tok-mix"), Location: &Location{Lat: 0.3, Lon: 100.3}, Carrier: "indosat"},
			{ID: "east", TokenSHA256: hash("tok-east"), Location: &Location{Lat: 0.25, Lon: 100.75}, Carrier: "indosat"},
		}
		c.Partners = []partner.Config{
			{Name: "tel", KeySHA256: hash(keyTel), Carriers: []string{"telkom"}, Raw: true},
			{Name: "ind", KeySHA256: hash(keyInd), Carriers: []string{"indosat"}},
			{Name: "kab", KeySHA256: hash(keyKab), Regions: []string{"99.01"}, Raw: true},
			{Name: "all", KeySHA256: hash(keyAll), Raw: true},
			{Name: "telsub", KeySHA256: hash(keySub), Carriers: []string{"telkom"}, Submit: true},
		}
	})
	send := func(id string, rs []wire.Result) {
		t.Helper()
		code, _, raw := f.post("tok-"+id, gz(t, wire.Batch{Probe: id, Results: rs}))
		if code != 200 {
			t.Fatalf("ingest %s: %d %s", id, code, raw)
		}
	}
	now := f.now
	f.now = now.Add(-time.Hour)
	send("quiet", results(1, 10, f.now, true, 30))
	f.now = now
	send("west", results(1, 20, now, true, 40))
	send("mix", results(1, 20, now, false, 0))
	send("east", results(1, 20, now, true, 60))
	// far: good from 5 h to 2 h 10 min ago, failing since then.
	var rs []wire.Result
	seq := uint64(1)
	for at := now.Add(-5 * time.Hour); at.Before(now); at = at.Add(time.Minute) {
		ok := at.Before(now.Add(-2*time.Hour - 10*time.Minute))
		r := wire.Result{Seq: seq, Time: at, Check: "portal", Kind: wire.KindHTTP, Target: "http://127.0.0.1:9/", OK: ok, DurationMS: 50}
		if !ok {
			r.ErrorClass, r.DurationMS = wire.ClassTimeout, 0
		}
		rs = append(rs, r)
		seq++
	}
	send("far", rs)
	return f
}

// fetch GETs path with a key (viewer or partner) and returns status,
// headers (trailers folded in) and body.
func (f *fixture) fetch(path, key string) (int, http.Header, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.http.URL+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range resp.Trailer {
		resp.Header[k] = v
	}
	return resp.StatusCode, resp.Header, body
}

// regionsByCode decodes a GeoJSON export into properties by feature id.
func regionsByCode(t *testing.T, body []byte) map[string]map[string]any {
	t.Helper()
	var fc struct {
		Features []struct {
			ID         string         `json:"id"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out := map[string]map[string]any{}
	for _, f := range fc.Features {
		out[f.ID] = f.Properties
	}
	return out
}

func TestExportScopeFiltersBeforeAggregation(t *testing.T) {
	f := newExportFixture(t)
	for _, tc := range []struct {
		key    string
		want   map[string]string // region → status
		sample map[string]float64
	}{
		{keyTel, map[string]string{"99.01.01": "good", "99.01.02": "silent", "99.02.01": "blank"},
			map[string]float64{"99.01.01": 20, "99.01.02": 0}},
		{keyInd, map[string]string{"99.01.01": "blank", "99.01.02": "good", "99.02.01": "unmeasured"},
			map[string]float64{"99.01.01": 20, "99.01.02": 20, "99.02.01": 0}},
		{keyKab, map[string]string{"99.01.01": "degraded", "99.01.02": "good"},
			map[string]float64{"99.01.01": 40}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			code, _, body := f.fetch("/api/v1/export/coverage?level=3", tc.key)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			got := regionsByCode(t, body)
			if len(got) != len(tc.want) {
				t.Errorf("regions %v, want %v", keys(got), tc.want)
			}
			for code, st := range tc.want {
				if got[code]["status"] != st {
					t.Errorf("%s status %v, want %s", code, got[code]["status"], st)
				}
			}
			for code, n := range tc.sample {
				if got[code]["samples"] != n {
					t.Errorf("%s samples %v, want %v", code, got[code]["samples"], n)
				}
			}
		})
	}
	// A kabupaten aggregate counts only the partner's carrier.
	_, _, body := f.fetch("/api/v1/export/coverage?level=2", keyTel)
	if got := regionsByCode(t, body)["99.01"]; got["samples"] != 20.0 || got["availability"] != 1.0 {
		t.Errorf("telkom's 99.01 = %v, want 20 samples all ok (indosat's failures left out)", got)
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestExportRefusals(t *testing.T) {
	f := newExportFixture(t)
	for _, tc := range []struct {
		name, path, key string
		want            int
	}{
		{"no key", "/api/v1/export/coverage", "", 401},
		{"wrong key", "/api/v1/export/coverage", "key-nobody", 401},
		{"viewer key is no partner key", "/api/v1/export/coverage", "view-key", 401},
		{"carrier outside scope", "/api/v1/export/coverage?carrier=indosat", keyTel, 403},
		{"carrier that does not exist", "/api/v1/export/coverage?carrier=xl", keyTel, 403},
		{"region outside scope", "/api/v1/export/tiles?region=99.02", keyKab, 403},
		{"region above scope", "/api/v1/export/blankspots?region=99", keyKab, 403},
		{"raw without the right", "/api/v1/export/results", keyInd, 403},
		{"raw outside scope", "/api/v1/export/results?carrier=indosat", keyTel, 403},
		{"ogc without key", "/ogc/collections/regions-3/items", "", 401},
		{"ogc carrier outside scope", "/ogc/collections/regions-3/items?carrier=telkom", keyInd, 403},
		{"ogc feature outside scope", "/ogc/collections/regions-3/items/99.02.01", keyKab, 403},
		{"mvt outside scope", "/api/v1/export/tiles/8/199/127.mvt?carrier=telkom", keyInd, 403},
		{"bad window", "/api/v1/export/coverage?window=soon", keyAll, 400},
		{"bad limit", "/api/v1/export/results?limit=0", keyAll, 400},
		{"unknown ogc parameter", "/ogc/collections/tiles/items?colour=red", keyAll, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := f.fetch(tc.path, tc.key)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, body)
			}
			var e map[string]any
			if err := json.Unmarshal(body, &e); err != nil || len(e) != 1 || e["error"] == "" {
				t.Errorf("body %s is not only an error", body)
			}
			for _, leak := range []string{"99.01.01", "west", "mix", "samples", "\"features\""} {
				if strings.Contains(string(body), leak) {
					t.Errorf("body %s leaks %q", body, leak)
				}
			}
			if code == 401 && h.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestExportBlankspots(t *testing.T) {
	f := newExportFixture(t)
	code, _, body := f.fetch("/api/v1/export/blankspots", keyTel)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var fc struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	json.Unmarshal(body, &fc)
	var got []string
	for _, ft := range fc.Features {
		p := ft.Properties
		got = append(got, p["id"].(string))
		switch p["id"] {
		case "region-99.02.01":
			// Blank since the first failure, 2 h 10 min before now.
			if want := f.now.Add(-2*time.Hour - 10*time.Minute).Format(time.RFC3339); p["since"] != want || p["people_affected"] != 4000.0 {
				t.Errorf("99.02.01 since %v people %v, want %s and 4000", p["since"], p["people_affected"], want)
			}
		case "region-99.01.02":
			if want := f.now.Add(-time.Hour).Format(time.RFC3339); p["since"] != want || p["status"] != "silent" {
				t.Errorf("99.01.02 %v since %v, want silent since %s", p["status"], p["since"], want)
			}
		}
	}
	if len(got) < 3 || got[0] != "region-99.02.01" || got[1] != "region-99.01.02" || !strings.HasPrefix(got[2], "tile-") {
		t.Errorf("blank spots %v, want 99.02.01 (4000 people), 99.01.02 (2000), then far's tile", got)
	}
}

func TestExportResultsPagesWithCursor(t *testing.T) {
	f := newExportFixture(t)
	var rows []map[string]any
	path := "/api/v1/export/results?window=6h&limit=70"
	pages := 0
	for path != "" {
		code, h, body := f.fetch(strings.TrimPrefix(path, f.http.URL), keyTel)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		pages++
		path = ""
		sc := bufio.NewScanner(strings.NewReader(string(body)))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			if next, ok := m["next"].(string); ok {
				path = next
				if link := h.Get("Link"); !strings.Contains(link, next) || !strings.Contains(link, `rel="next"`) {
					t.Errorf("Link trailer %q does not carry %s", link, next)
				}
				continue
			}
			rows = append(rows, m)
		}
	}
	// telkom: west 20 + far 300 + quiet 10; never indosat.
	if len(rows) != 330 || pages != 5 {
		t.Errorf("%d rows in %d pages, want 330 in 5", len(rows), pages)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		id := r["probe"].(string) + "/" + jsonNum(r["seq"])
		if seen[id] {
			t.Errorf("row %s twice", id)
		}
		seen[id] = true
		if r["carrier"] != "telkom" {
			t.Fatalf("row of carrier %v", r["carrier"])
		}
	}

	// CSV, scoped by region: indosat's and telkom's rows of 99.01 only.
	code, _, body := f.fetch("/api/v1/export/results?window=6h&format=csv", keyKab)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+70 || strings.Join(recs[0], ",") != strings.Join(partner.ResultColumns, ",") {
		t.Errorf("%d CSV records, header %v; want 70 rows (west, mix, east, quiet... of 99.01)", len(recs)-1, recs[0])
	}
	for _, r := range recs[1:] {
		if !strings.HasPrefix(r[3], "99.01") {
			t.Errorf("row of region %s outside 99.01", r[3])
		}
	}
}

func jsonNum(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestPartnerConfigErrors(t *testing.T) {
	good := hash("k")
	// a key as `jangkau token` prints it, pasted where its hash belongs
	const pastedKey = "4de0cbb6f1e2d3c4b5a69788796a5b4c3d2e1f0011223344"
	for _, tc := range []struct {
		name    string
		p       []partner.Config
		wantErr string
	}{
		{"bad hash", []partner.Config{{Name: "a", KeySHA256: "abc"}}, `partners[0].key_sha256 must be 64 hex digits, the sha256 of the token that ` + "`jangkau token`" + ` printed; it holds 3 characters`},
		{"key pasted", []partner.Config{{Name: "a", KeySHA256: pastedKey}}, `partners[0].key_sha256 must be 64 hex digits`},
		{"no hash", []partner.Config{{Name: "a"}}, `partners[0].key_sha256 is missing`},
		{"dup name", []partner.Config{{Name: "a", KeySHA256: good}, {Name: "a", KeySHA256: good}}, `partners[1].name "a" is already partners[0].name`},
		{"bad region", []partner.Config{{Name: "a", KeySHA256: good, Regions: []string{"36..01"}}}, `partners[0].regions[0] "36..01" is not a region code prefix`},
		{"empty name", []partner.Config{{KeySHA256: good}}, `partners[0].name ""`},
		{"empty carrier", []partner.Config{{Name: "a", KeySHA256: good, Carriers: []string{""}}}, `partners[0].carriers[0] must not be empty`},
		{"negative rate", []partner.Config{{Name: "a", KeySHA256: good, RateLimit: partner.RateLimit{RequestsPerSecond: -3}}}, `partners[0].rate_limit.requests_per_second (-3) must be positive`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig
			cfg.Partners = tc.p
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), pastedKey) {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
	cfg, err := LoadConfig("testdata/partners.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Partners; len(p) != 2 || p[0].Carriers[0] != "telkom" || p[0].Regions[0] != "36.01" || !p[0].Raw || p[1].Raw ||
		p[0].RateLimit != (partner.RateLimit{RequestsPerSecond: 5, Burst: 30}) || p[1].RateLimit != (partner.RateLimit{}) {
		t.Errorf("partners = %+v", p)
	}
}

func TestExportAuditLog(t *testing.T) {
	f := newExportFixture(t)
	log, buf := testlog.NewJSON()
	srv, err := NewServer(f.srv.cfg, f.srv.store, f.srv.regions, log, Options{Now: f.srv.opt.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	for _, tc := range []struct{ path, key string }{
		{"/api/v1/export/coverage?level=3&carrier=telkom", keyTel},
		{"/api/v1/export/coverage?carrier=indosat", keyTel},
		{"/ogc", ""},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if m["msg"] == "export" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d audit lines, want one per request:\n%s", len(lines), buf.String())
	}
	want := []struct {
		partner string
		status  float64
		rows    float64
	}{{"tel", 200, 3}, {"tel", 403, 0}, {"", 401, 0}}
	for i, w := range want {
		l := lines[i]
		if l["level"] != "INFO" || l["partner"] != w.partner || l["status"] != w.status || l["rows"] != w.rows ||
			l["endpoint"] == "" || l["bytes"].(float64) <= 0 || l["duration"] == nil {
			t.Errorf("audit line %d = %v, want partner %q status %v rows %v with endpoint, bytes, duration", i, l, w.partner, w.status, w.rows)
		}
	}
	if lines[0]["filters"] != "level=3&carrier=telkom" {
		t.Errorf("filters %v", lines[0]["filters"])
	}
}
