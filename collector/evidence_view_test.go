package collector

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// The desa of the evidence tests, on the real Banten boundaries.
const (
	evBlank    = "36.02.01.2002" // Lebak: Podes none, XL claims 4G, 3 failing survey passes
	evReported = "36.01.01.2001" // Pandeglang: Podes weak 3G only
	evProbed   = "36.02.01.2004" // Lebak: a fixed probe with good results
	evBig      = "36.02.01.2003" // Lebak: Podes none only, 5,000 people
	evSmall    = "36.01.01.2002" // Pandeglang: Podes none only, 1,200 people as evBlank
)

// pointIn is a point Locate places in the desa code.
func pointIn(t *testing.T, rs *region.Regions, code string) orb.Point {
	t.Helper()
	b := rs.Get(code).Bound
	for i := 1; i < 10; i++ {
		for j := 1; j < 10; j++ {
			pt := orb.Point{b.Min[0] + float64(i)*(b.Max[0]-b.Min[0])/10, b.Min[1] + float64(j)*(b.Max[1]-b.Min[1])/10}
			if r := rs.Locate(pt.Lat(), pt.Lon()); r != nil && r.Code == code {
				return pt
			}
		}
	}
	t.Fatalf("no point found in %s", code)
	return orb.Point{}
}

// newEvidenceViewFixture is a collector on the real Banten desa with an
// evidence file holding Podes 2024 and XL's 4G claim over evBlank, a
// survey probe on XL (registered at the kabupaten) that drove three times
// through evBlank failing every check, and a fixed probe on Telkomsel in
// evProbed whose checks succeed.
func newEvidenceViewFixture(t *testing.T) (*fixture, *region.Regions) {
	t.Helper()
	rs, err := region.LoadFile(geotest.File(t, "banten-adm4.geojson"), region.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev, err := evidence.OpenFile(filepath.Join(t.TempDir(), evidence.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	census := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	if _, err := ev.Put(ctx, evidence.Layer{ID: "podes-2024", Kind: evidence.KindPodes, Title: "Podes 2024", Source: "BPS", Date: census},
		[]evidence.Observation{{Line: 2, Region: evBlank, Signal: evidence.SignalNone},
			{Line: 3, Region: evReported, Signal: evidence.SignalWeak, Tech: "3G"},
			{Line: 4, Region: evBig, Signal: evidence.SignalNone}, {Line: 5, Region: evSmall, Signal: evidence.SignalNone}}); err != nil {
		t.Fatal(err)
	}
	area := orb.MultiPolygon{rs.Get(evBlank).Bound.Pad(0.001).ToPolygon()}
	if _, err := ev.Put(ctx, evidence.Layer{ID: "claim-xl", Kind: evidence.KindClaim, Source: "XL", Carrier: "XL",
		Date: census.AddDate(2, 0, 0)}, []evidence.Observation{{Line: 0, Tech: "4G", Signal: evidence.SignalStrong, Area: area}}); err != nil {
		t.Fatal(err)
	}
	if ls, err := ev.Layers(ctx); err != nil || len(ls) != 2 {
		t.Fatalf("evidence layers %v (%v), want the 2 put", ls, err)
	}

	cfg := DefaultConfig
	cfg.Probes = []ProbeConfig{
		{ID: "survey", TokenSHA256: hash("tok-survey"), Region: "36.02", Carrier: "XL"},
		{ID: "fixed", TokenSHA256: hash("tok-fixed"), Region: evProbed, Carrier: "Telkomsel"},
	}
	cfg.Viewers = []ViewerConfig{{Name: "planner", KeySHA256: hash("view-key")}}
	cfg.Partners = []partner.Config{
		{Name: "all", KeySHA256: hash(keyAll), Raw: true},
		{Name: "tsel", KeySHA256: hash(keyTel), Carriers: []string{"Telkomsel"}},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for code, people := range map[string]int64{evBlank: 1200, evSmall: 1200, evBig: 5000} {
		rs.Get(code).Population, rs.Get(code).PopulationKnown = people, true
	}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	f.srv, err = NewServer(&cfg, st, rs, slog.New(slog.DiscardHandler), Options{Now: func() time.Time { return f.now }, Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	f.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.http.Close)

	pt := pointIn(t, rs, evBlank)
	var drive []wire.Result
	start := f.now.Add(-6 * time.Hour)
	for pass, n := range []int{14, 14, 13} {
		for i := range n {
			r := results(uint64(len(drive)+1), 1, start.Add(time.Duration(pass)*time.Hour+time.Duration(i)*10*time.Second), false, 0)[0]
			r.Location = &wire.Location{Lat: pt.Lat(), Lon: pt.Lon()}
			drive = append(drive, r)
		}
	}
	for _, post := range []struct {
		tok string
		b   wire.Batch
	}{{"tok-survey", wire.Batch{Probe: "survey", Results: drive}}, {"tok-fixed", wire.Batch{Probe: "fixed", Results: results(1, 20, f.now, true, 12)}}} {
		if code, _, raw := f.post(post.tok, gz(t, post.b)); code != 200 {
			t.Fatalf("ingest: %d %s", code, raw)
		}
	}
	return f, rs
}

type evidencePlace struct {
	Code           string `json:"code"`
	Quadkey        string `json:"quadkey"`
	MeasuredStatus string `json:"measured_status"`
	Verdict        string `json:"verdict"`
	Basis          string `json:"basis"`
	Disputed       bool   `json:"disputed"`
	Evidence       string `json:"evidence"`
	Findings       []struct {
		Layer  string `json:"layer"`
		Signal string `json:"signal"`
		Count  int    `json:"count"`
	} `json:"findings"`
	Disputes []struct {
		Claim string `json:"claim"`
		Text  string `json:"text"`
	} `json:"disputes"`
}

type evidenceAnswer struct {
	Counts struct {
		Places   int            `json:"places"`
		Disputed int            `json:"disputed"`
		Sources  map[string]int `json:"sources"`
		Basis    map[string]int `json:"basis"`
	} `json:"counts"`
	Regions []evidencePlace `json:"regions"`
	Tiles   []evidencePlace `json:"tiles"`
}

// TestEvidenceViewBanten: through a real collector on the Banten desa, the
// Lebak desa with Podes none, XL's 4G claim and three failing survey
// passes is none on measured evidence with the claim disputed by the 3
// passes; the Podes-only desa rests on the report; the fixed probe's desa
// is covered on its measurement; the filters, formats and the tiles view
// say the same.
func TestEvidenceViewBanten(t *testing.T) {
	f, rs := newEvidenceViewFixture(t)
	var all evidenceAnswer
	for i, what := range []string{"cold", "warm"} {
		start := time.Now()
		code, _, body := f.fetch("/api/v1/evidence?level=4", "view-key")
		if code != 200 {
			t.Fatalf("evidence: %d %s", code, body)
		}
		t.Logf("GET /api/v1/evidence?level=4 (%s): %d bytes in %v", what, len(body), time.Since(start))
		if i == 0 {
			if err := json.Unmarshal(body, &all); err != nil {
				t.Fatal(err)
			}
		}
	}
	if all.Counts.Places != len(rs.Level(4)) || len(all.Regions) != len(rs.Level(4)) {
		t.Fatalf("%d places (%d listed), want every desa (%d)", all.Counts.Places, len(all.Regions), len(rs.Level(4)))
	}
	by := map[string]evidencePlace{}
	for _, p := range all.Regions {
		by[p.Code] = p
	}
	bl := by[evBlank]
	if bl.Verdict != "none" || bl.Basis != "measured" || !bl.Disputed || len(bl.Disputes) != 1 ||
		bl.Disputes[0].Text != "XL claims 4G: disputed by 3 survey passes" {
		t.Errorf("%s: %+v, want none on measured with XL's claim disputed by 3 survey passes", evBlank, bl)
	}
	if !strings.Contains(bl.Evidence, "no signal per Podes 2024") || !strings.Contains(bl.Evidence, "0 of 41 checks ok") {
		t.Errorf("%s says %q", evBlank, bl.Evidence)
	}
	if rp := by[evReported]; rp.Verdict != "weak" || rp.Basis != "reported" || rp.Disputed {
		t.Errorf("%s: %+v, want weak on reported", evReported, rp)
	}
	if pr := by[evProbed]; pr.Verdict != "covered" || pr.Basis != "measured" || pr.MeasuredStatus != "good" {
		t.Errorf("%s: %+v, want covered on the probes' good status", evProbed, pr)
	}
	if all.Counts.Disputed != 1 || all.Counts.Sources["podes-2024"] != 4 || all.Counts.Sources["survey"] != 1 ||
		all.Counts.Sources["probes"] != 1 || all.Counts.Basis["reported"] != 3 {
		t.Errorf("counts %+v, want 1 disputed, 4 desa with Podes, 1 with survey passes, 1 with probes, 3 reported", all.Counts)
	}

	// Filters and the region prefix.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"filter=disputed", []string{evBlank}},
		{"filter=measured&region=36.02", []string{evBlank, evProbed}},
		{"filter=measured&region=36.01", nil},
		{"region=36.01.01.2001", []string{evReported}},
		{"region=36.02.01.2003", []string{evBig}},
	} {
		var a evidenceAnswer
		if code := f.get("/api/v1/evidence?"+tc.query, "view-key", &a); code != 200 {
			t.Fatalf("%s: %d", tc.query, code)
		}
		var got []string
		for _, p := range a.Regions {
			got = append(got, p.Code)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}

	// CSV: one row per desa with the dispute's sentence.
	code, body := f.raw("/api/v1/evidence?filter=disputed&format=csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 2 {
		t.Fatalf("csv: %d %v, %d rows:\n%s", code, err, len(rows), body)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if r := rows[1]; r[col["code"]] != evBlank || r[col["verdict"]] != "none" || r[col["disputed"]] != "true" ||
		r[col["dispute_text"]] != "XL claims 4G: disputed by 3 survey passes" {
		t.Errorf("csv row %v", r)
	}

	// GeoJSON: the desa's outline with the same properties.
	var fc struct {
		Features []struct {
			ID         string
			Geometry   json.RawMessage
			Properties map[string]any
		}
	}
	if code := f.get("/api/v1/evidence?filter=disputed&format=geojson", "view-key", &fc); code != 200 || len(fc.Features) != 1 ||
		fc.Features[0].ID != evBlank || fc.Features[0].Properties["verdict"] != "none" || len(fc.Features[0].Geometry) < 100 {
		t.Errorf("geojson: %d, %+v", code, fc.Features)
	}

	// Tiles: the survey's tile is none and disputed.
	pt := pointIn(t, rs, evBlank)
	qk := tile.Quadkey(tile.At(pt.Lat(), pt.Lon(), f.srv.cfg.Tiles.Zoom))
	var tiles evidenceAnswer
	if code := f.get("/api/v1/evidence/tiles?filter=disputed", "view-key", &tiles); code != 200 {
		t.Fatalf("evidence tiles: %d", code)
	}
	if len(tiles.Tiles) != 1 || tiles.Tiles[0].Quadkey != qk || tiles.Tiles[0].Verdict != "none" {
		t.Errorf("disputed tiles %+v, want %s, none", tiles.Tiles, qk)
	}
}

// TestEvidenceViewRefusesBadParameters: each bad parameter is a 400 that
// names it.
func TestEvidenceViewRefusesBadParameters(t *testing.T) {
	f := newFixture(t, nil) // province 99: kecamatan are the deepest level
	for _, tc := range []struct{ query, field string }{
		{"filter=some", "filter"},
		{"format=xml", "format"},
		{"level=2", "level"},
		{"level=x", "level"},
		{"region=36x01", "region"},
		{"region=98.01", "region"},
		{"window=-1h", "window"},
		{"bbox=1,2,3", "bbox"},
	} {
		for _, path := range []string{"/api/v1/evidence?", "/api/v1/evidence/tiles?"} {
			code, body := f.raw(path + tc.query)
			if code != 400 || !strings.Contains(body, tc.field) {
				t.Errorf("%s%s: %d %s, want 400 naming %s", path, tc.query, code, body, tc.field)
			}
		}
	}
	// Without an evidence store the views show the measurements alone.
	feedViews(t, f)
	var a evidenceAnswer
	if code := f.get("/api/v1/evidence", "view-key", &a); code != 200 || a.Counts.Places != 3 {
		t.Fatalf("evidence without a store: %d, %+v", code, a.Counts)
	}
	if code, _ := f.raw("/api/v1/evidence?key=none"); code != 200 {
		t.Errorf("an unknown parameter is ignored as in the other views: %d", code)
	}
}

// TestExportBlankspotsEvidenceBanten: the blank spots rank by people
// affected, then by the strength of the evidence, and list the desa that
// only the evidence finds blank; a partner scoped to another carrier sees
// neither XL's survey nor its claim.
func TestExportBlankspotsEvidenceBanten(t *testing.T) {
	f, _ := newEvidenceViewFixture(t)
	rows := func(key string) ([]string, map[string]map[string]string) {
		t.Helper()
		code, _, body := f.fetch("/api/v1/export/blankspots?format=csv&window=24h", key)
		recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if code != 200 || err != nil || len(recs) < 2 {
			t.Fatalf("blankspots: %d %v\n%s", code, err, body)
		}
		var ids []string
		by := map[string]map[string]string{}
		for _, r := range recs[1:] {
			m := map[string]string{}
			for i, h := range recs[0] {
				m[h] = r[i]
			}
			ids = append(ids, m["id"])
			by[m["id"]] = m
		}
		return ids, by
	}
	ids, by := rows(keyAll)
	want := []string{"region-" + evBig, "region-" + evBlank, "region-" + evSmall}
	if len(ids) < 3 || strings.Join(ids[:3], ",") != strings.Join(want, ",") {
		t.Errorf("blank spots ranked %v, want %v first (5,000 reported; 1,200 measured; 1,200 reported)", ids, want)
	}
	if b := by["region-"+evBlank]; b["status"] != "blank" || b["verdict"] != "none" || b["basis"] != "measured" ||
		b["evidence"] != "3" || b["disputed"] != "true" || b["people_affected"] != "1200" {
		t.Errorf("%s: %v, want blank, none on measured, 3 sources, disputed, 1200 people", evBlank, b)
	}
	if b := by["region-"+evBig]; b["status"] != "unmeasured" || b["verdict"] != "none" || b["basis"] != "reported" || b["people_affected"] != "5000" {
		t.Errorf("%s: %v, want an unmeasured desa, none on the report, 5000 people", evBig, b)
	}
	if _, listed := by["region-"+evProbed]; listed {
		t.Errorf("the covered desa %s is listed as a blank spot", evProbed)
	}

	_, by = rows(keyTel)
	if b := by["region-"+evBlank]; b["status"] != "unmeasured" || b["basis"] != "reported" || b["disputed"] != "false" || b["evidence"] != "1" {
		t.Errorf("%s for Telkomsel's partner: %v, want unmeasured, reported on Podes alone, no dispute (XL's survey and claim are outside its scope)", evBlank, b)
	}
}
