package collector

// The evidence layers as partner collections and exports
// (collector/partner/ogc_evidence.go, export_evidence.go), read with the
// tools partners use.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/internal/testenv"
)

// evidenceCounts are how many rows of each kind's newest layers a partner
// may read, by the scope rules; putEvidence's rows are laid out for them.
type evidenceCounts struct{ podes, ookla, speedtest, claim int }

// putEvidence stores one or two layers of each kind over the fixture's
// regions (99.01.01 is lon 100..100.5, 99.01.02 100.5..101, 99.02.01
// 101..101.5, lat 0..0.5) and says what each export fixture partner may
// read of them.
func putEvidence(t *testing.T, st evidence.Store) map[string]evidenceCounts {
	t.Helper()
	ctx := context.Background()
	put := func(l evidence.Layer, obs []evidence.Observation) {
		t.Helper()
		if _, err := st.Put(ctx, l, obs); err != nil {
			t.Fatal(err)
		}
	}
	date := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	// Podes, twice: only version 2's three rows count. 99.09.09.2001 is
	// not in the boundaries (a null geometry).
	put(evidence.Layer{ID: "podes-2024", Kind: evidence.KindPodes, Title: "Podes 2024", Source: "BPS (Podes 2024)", Licence: "BPS open data", Date: date, Method: "village census"},
		[]evidence.Observation{{Line: 2, Region: "99.01.01", Signal: evidence.SignalStrong, Tech: "4G"}})
	put(evidence.Layer{ID: "podes-2024", Kind: evidence.KindPodes, Title: "Podes 2024", Source: "BPS (Podes 2024)", Licence: "BPS open data", Date: date, Method: "village census"},
		[]evidence.Observation{
			{Line: 2, Region: "99.01.01", Signal: evidence.SignalStrong, Tech: "4G"},
			{Line: 3, Region: "99.01.02", Signal: evidence.SignalNone},
			{Line: 4, Region: "99.09.09.2001", Signal: evidence.SignalWeak, Tech: "2G"},
		})
	qk := func(lat, lon float64) string { return tile.Quadkey(tile.At(lat, lon, 16)) }
	put(evidence.Layer{ID: "ookla-mobile-2024q2", Kind: evidence.KindOokla, Title: "Ookla mobile 2024 Q2", Source: "Ookla", Licence: "CC BY-NC-SA 4.0", Date: date, Network: "mobile"},
		[]evidence.Observation{
			{Line: 2, Quadkey: qk(0.25, 100.25), DownKbps: 12000, UpKbps: 3000, LatencyMS: 40, Tests: 5, Devices: 3},
			{Line: 3, Quadkey: qk(0.25, 101.25), DownKbps: 800, UpKbps: 200, LatencyMS: 120, Tests: 2, Devices: 1},
		})
	at := func(h int) time.Time { return date.Add(time.Duration(h) * time.Hour) }
	put(evidence.Layer{ID: "survey-2026", Kind: evidence.KindSpeedtest, Title: "Field survey", Source: "Diskominfo", Licence: "internal", Date: date, Method: "survey app"},
		[]evidence.Observation{
			{Line: 2, Lat: 0.2, Lon: 100.2, Time: at(1), Carrier: "telkom", DownKbps: 0, Signal: evidence.SignalNone},
			{Line: 3, Lat: 0.2, Lon: 100.7, Time: at(2), Carrier: "indosat", DownKbps: 9000, Signal: evidence.SignalStrong},
			{Line: 4, Lat: 0.2, Lon: 101.2, Time: at(3), Carrier: "telkom", DownKbps: 500, Signal: evidence.SignalWeak},
		})
	sq := func(lon, lat float64) orb.MultiPolygon { return orb.MultiPolygon{square(lon, lat, 0.2)} }
	put(evidence.Layer{ID: "claim-telkom", Kind: evidence.KindClaim, Title: "telkom", Source: "telkom", Carrier: "telkom", Submitter: "telsub", Licence: "agreement", Date: date},
		[]evidence.Observation{
			{Line: 0, Area: sq(100.1, 0.1), Tech: "4G", Carrier: "telkom", Signal: evidence.SignalStrong},
			{Line: 1, Area: sq(101.1, 0.1), Tech: "3G", Carrier: "telkom", Signal: evidence.SignalStrong},
		})
	put(evidence.Layer{ID: "claim-indosat", Kind: evidence.KindClaim, Title: "indosat", Source: "indosat", Carrier: "indosat", Submitter: "indsub", Licence: "agreement", Date: date},
		[]evidence.Observation{{Line: 0, Area: sq(100.6, 0.1), Tech: "4G", Carrier: "indosat", Signal: evidence.SignalStrong}})
	return map[string]evidenceCounts{
		keyAll: {podes: 3, ookla: 2, speedtest: 3, claim: 3},
		keyTel: {podes: 3, ookla: 2, speedtest: 2, claim: 2},
		keyInd: {podes: 3, ookla: 2, speedtest: 1, claim: 1},
		// regions 99.01: the desa outside the boundaries, the tile, test
		// and claim in 99.02.01 are left out.
		keyKab: {podes: 2, ookla: 1, speedtest: 2, claim: 2},
	}
}

// TestGDALReadsEvidenceCollections: ogrinfo (GDAL's OAPIF driver with its
// defaults) reads every evidence collection, each partner the rows its
// scope allows, with the right geometry type and typed fields.
func TestGDALReadsEvidenceCollections(t *testing.T) {
	needOgrinfo(t)
	f := newExportFixture(t)
	want := putEvidence(t, f.srv.Evidence())
	src := "OAPIF:" + f.http.URL + "/ogc"
	for _, tc := range []struct {
		layer    string
		count    func(evidenceCounts) int
		geometry string
		fields   []string
	}{
		{"evidence-podes", func(c evidenceCounts) int { return c.podes }, "Polygon", []string{"signal: String", "date: Date", "version: Integer"}},
		{"evidence-ookla", func(c evidenceCounts) int { return c.ookla }, "Polygon", []string{"quadkey: String", "down_kbps: Real", "tests: Integer"}},
		{"evidence-speedtest", func(c evidenceCounts) int { return c.speedtest }, "Point", []string{"time: DateTime", "latency_ms: Real"}},
		{"evidence-claim", func(c evidenceCounts) int { return c.claim }, "Multi Polygon", []string{"tech: String", "submitter: String", "licence: String"}},
	} {
		for _, key := range []string{keyAll, keyTel, keyInd, keyKab} {
			t.Run(tc.layer+"/"+key, func(t *testing.T) {
				out := ogrinfo(t, key, "-ro", "-so", src, tc.layer)
				if n, w := featureCount(t, out), tc.count(want[key]); n != w {
					t.Errorf("%d features, want %d\n%s", n, w, out)
				}
				if !strings.Contains(out, "Geometry: "+tc.geometry+"\n") {
					t.Errorf("geometry is not %s\n%s", tc.geometry, out)
				}
				for _, fl := range tc.fields {
					if !strings.Contains(out, fl) {
						t.Errorf("field %q missing\n%s", fl, out)
					}
				}
			})
		}
	}
	// Paging through next links reads every row of the newest version
	// once, with its provenance.
	out := ogrinfo(t, keyAll, "-ro", "-al", "-q", "--config", "OAPIF_PAGE_SIZE", "1", src, "evidence-podes")
	if n := strings.Count(out, "OGRFeature(evidence-podes)"); n != 3 {
		t.Errorf("paging by 1: %d features, want 3\n%s", n, out)
	}
	for _, s := range []string{"layer (String) = podes-2024", "licence (String) = BPS open data", "version (Integer) = 2", "region (String) = 99.09.09.2001"} {
		if !strings.Contains(out, s) {
			t.Errorf("%q missing\n%s", s, out)
		}
	}
}

// TestGDALCopiesEvidenceCollections: ogr2ogr copies each evidence
// collection to a GeoPackage, row for row.
func TestGDALCopiesEvidenceCollections(t *testing.T) {
	needOgrinfo(t)
	f := newExportFixture(t)
	want := putEvidence(t, f.srv.Evidence())[keyAll]
	dst := t.TempDir() + "/evidence.gpkg"
	gdal(t, "ogr2ogr", []string{"GDAL_HTTP_HEADERS=Authorization: Bearer " + keyAll}, "-f", "GPKG", dst, "OAPIF:"+f.http.URL+"/ogc",
		"evidence-podes", "evidence-ookla", "evidence-speedtest", "evidence-claim")
	for layer, n := range map[string]int{"evidence-podes": want.podes, "evidence-ookla": want.ookla, "evidence-speedtest": want.speedtest, "evidence-claim": want.claim} {
		out := gdal(t, "ogrinfo", nil, "-ro", "-so", dst, layer)
		if got := featureCount(t, out); got != n {
			t.Errorf("%s copied %d features, want %d\n%s", layer, got, n, out)
		}
	}
}

func TestEvidenceExports(t *testing.T) {
	f := newExportFixture(t)
	putEvidence(t, f.srv.Evidence())
	// The layer list: a carrier's claims only for a partner with it.
	for key, hidden := range map[string]string{keyTel: "claim-indosat", keyInd: "claim-telkom", keyAll: ""} {
		var list struct{ Layers []evidence.Layer }
		code, _, raw := f.fetch("/api/v1/export/evidence", key)
		if code != 200 || json.Unmarshal(raw, &list) != nil || len(list.Layers) == 0 {
			t.Fatalf("%s: layers %d %s", key, code, raw)
		}
		for _, l := range list.Layers {
			if l.ID == hidden {
				t.Errorf("%s sees %s", key, hidden)
			}
		}
		if hidden == "" && len(list.Layers) != 5 {
			t.Errorf("all sees %d layers, want 5", len(list.Layers))
		}
	}
	// GeoJSON of a version, and CSV with WKT.
	code, _, raw := f.fetch("/api/v1/export/evidence/podes-2024?version=1", keyAll)
	var fc struct {
		Layer    evidence.Layer
		Features []struct{ Properties map[string]any }
	}
	if code != 200 || json.Unmarshal(raw, &fc) != nil || fc.Layer.Version != 1 || len(fc.Features) != 1 {
		t.Errorf("podes v1: %d %s", code, raw)
	}
	code, _, raw = f.fetch("/api/v1/export/evidence/survey-2026?format=csv", keyTel)
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if code != 200 || err != nil || len(rows) != 3 {
		t.Fatalf("survey csv for telkom: %d %v %s", code, err, raw)
	}
	head := strings.Join(rows[0], ",")
	if !strings.HasPrefix(head, "layer,source,licence,date,method,version,line,time,carrier") || rows[0][len(rows[0])-1] != "wkt" ||
		rows[1][len(rows[1])-1] != "POINT(100.2 0.2)" || rows[2][8] != "telkom" {
		t.Errorf("survey csv:\n%s", raw)
	}
	for _, tc := range []struct {
		path, key string
		code      int
		says      string
	}{
		{"/api/v1/export/evidence/claim-indosat", keyTel, 403, `carrier \"indosat\" is outside partner tel's scope`},
		{"/api/v1/export/evidence/survey-2026?carrier=indosat", keyTel, 403, "indosat"},
		{"/api/v1/export/evidence/nothing", keyTel, 404, "see /api/v1/export/evidence"},
		{"/api/v1/export/evidence/podes-2024?version=3", keyTel, 404, "versions 1..2"},
		{"/api/v1/export/evidence/podes-2024?version=x", keyTel, 400, "version"},
		{"/api/v1/export/evidence/podes-2024?region=99.02", keyKab, 403, "region"},
	} {
		code, _, raw := f.fetch(tc.path, tc.key)
		if code != tc.code || !strings.Contains(string(raw), tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.path, code, raw, tc.code, tc.says)
		}
	}
	// The region filter narrows Podes rows by desa code.
	code, _, raw = f.fetch("/api/v1/export/evidence/podes-2024?region=99.01.02", keyKab)
	if code != 200 || strings.Count(string(raw), `"region":"99.01.02"`) != 1 || strings.Contains(string(raw), `"region":"99.01.01"`) {
		t.Errorf("podes in 99.01.02: %d %s", code, raw)
	}
}

// TestClaimAppearsInEvidenceCollection: a submitted claim is served by
// the evidence-claim collection with its polygons.
func TestClaimAppearsInEvidenceCollection(t *testing.T) {
	f := newExportFixture(t)
	body := claimBody(claimFeature(geomSquare, map[string]any{"technology": "4G", "carrier": "telkom"}))
	if code, raw := f.postClaim("/api/v1/claims/telkom-2026", keySub, body); code != 201 {
		t.Fatalf("claim: %d %s", code, raw)
	}
	code, _, raw := f.fetch("/ogc/collections/evidence-claim/items", keyTel)
	var fc struct {
		Features []struct {
			ID       string
			Geometry struct {
				Type        string
				Coordinates [][][][]float64
			}
			Properties map[string]any
		}
	}
	if code != 200 || json.Unmarshal(raw, &fc) != nil || len(fc.Features) != 1 {
		t.Fatalf("items: %d %s", code, raw)
	}
	got := fc.Features[0]
	if got.ID != "telkom-2026-0" || got.Geometry.Type != "MultiPolygon" || fmt.Sprint(got.Geometry.Coordinates[0][0][1]) != "[100.4 0.1]" ||
		got.Properties["submitter"] != "telsub" || got.Properties["tech"] != "4G" {
		t.Errorf("claim feature %+v", got)
	}
	if code, _, raw := f.fetch("/ogc/collections/evidence-claim/items", keyInd); code != 200 || strings.Contains(string(raw), "telkom-2026") {
		t.Errorf("indosat's partner sees telkom's claim: %d %s", code, raw)
	}
}

// owslibCount pages through each collection with OWSLib and prints its
// features' ids as JSON: {collection: [ids]}.
const owslibCount = `
import json, sys
from owslib.ogcapi.features import Features
api = Features(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
out = {}
for c in sys.argv[3:]:
    ids, offset = [], 0
    while True:
        page = api.collection_items(c, limit=2, offset=offset)
        feats = page.get("features", [])
        ids += [f["id"] for f in feats]
        if len(feats) < 2:
            break
        offset += len(feats)
    out[c] = ids
print(json.dumps(out))
`

// TestOWSLibReadsEvidenceCollections: a partner's Python (OWSLib, Debian
// python3-owslib) pages through every evidence collection.
func TestOWSLibReadsEvidenceCollections(t *testing.T) {
	const py = "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import owslib.ogcapi.features").CombinedOutput(); err != nil {
		testenv.Missing(t, "%s cannot import owslib (%v: %s): apt-get install python3-owslib", py, err, out)
	}
	f := newExportFixture(t)
	want := putEvidence(t, f.srv.Evidence())[keyTel]
	cmd := exec.Command(py, "-c", owslibCount, f.http.URL+"/ogc", keyTel,
		"evidence-podes", "evidence-ookla", "evidence-speedtest", "evidence-claim")
	cmd.Env = append(os.Environ(), "http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=127.0.0.1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("owslib: %v\n%s", err, out)
	}
	var got map[string][]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for c, n := range map[string]int{"evidence-podes": want.podes, "evidence-ookla": want.ookla, "evidence-speedtest": want.speedtest, "evidence-claim": want.claim} {
		if ids := got[c]; len(ids) != n || len(dedupeIDs(ids)) != n {
			t.Errorf("%s: OWSLib paged %v, want %d distinct features", c, ids, n)
		}
	}
}

func dedupeIDs(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}
