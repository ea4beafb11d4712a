package collector

// Claims: a carrier's declared coverage submitted through the partner API
// (collector/partner/claims.go), stored in the collector's evidence store.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/internal/testlog"
)

// Partner keys of the claims fixture.
const (
	keySub      = "key-telkom-submits" // carriers [telkom], submit
	keySubOther = "key-other-submits"  // carriers [telkom], submit: another partner
	keyNoSubmit = "key-telkom-reads"   // carriers [telkom], no submit
)

// claimBodyLimit is the fixture's partners[].claim_limits.max_bytes.
const claimBodyLimit = 64 << 10

func newClaimsFixture(t *testing.T) (*fixture, *testlog.Buffer) {
	t.Helper()
	log, buf := testlog.NewJSON()
	f := newFixtureOn(t, fixtureRegions(t), log, func(c *Config) {
		c.Partners = []partner.Config{
			{Name: "telsub", KeySHA256: hash(keySub), Carriers: []string{"telkom"}, Submit: true,
				ClaimLimits: partner.ClaimLimits{MaxBytes: claimBodyLimit}},
			{Name: "othersub", KeySHA256: hash(keySubOther), Carriers: []string{"telkom"}, Submit: true},
			{Name: "telread", KeySHA256: hash(keyNoSubmit), Carriers: []string{"telkom"}},
		}
	})
	return f, buf
}

// claimFeature is a GeoJSON feature of a claim; geometry as JSON text.
func claimFeature(geometry string, props map[string]any) string {
	p, _ := json.Marshal(props)
	return fmt.Sprintf(`{"type":"Feature","geometry":%s,"properties":%s}`, geometry, p)
}

func claimBody(features ...string) []byte {
	return []byte(`{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`)
}

// Geometries over the fixture's regions (99.01.01 is 100..100.5, 0..0.5).
const (
	geomSquare = `{"type":"Polygon","coordinates":[[[100.1,0.1],[100.4,0.1],[100.4,0.4],[100.1,0.4],[100.1,0.1]]]}`
	geomMulti  = `{"type":"MultiPolygon","coordinates":[[[[100.6,0.1],[100.9,0.1],[100.9,0.4],[100.6,0.4],[100.6,0.1]]],[[[101.1,0.1],[101.4,0.1],[101.4,0.4],[101.1,0.1]]]]}`
	// A bow-tie: the ring crosses itself at (100.25, 0.25).
	geomBowTie      = `{"type":"Polygon","coordinates":[[[100.1,0.1],[100.4,0.4],[100.4,0.1],[100.1,0.4],[100.1,0.1]]]}`
	geomOutOfBounds = `{"type":"Polygon","coordinates":[[[200.1,0.1],[200.4,0.1],[200.4,0.4],[200.1,0.1]]]}`
	geomUnclosed    = `{"type":"Polygon","coordinates":[[[100.1,0.1],[100.4,0.1],[100.4,0.4],[100.1,0.4]]]}`
	geomPoint       = `{"type":"Point","coordinates":[100.1,0.1]}`
)

// postClaim posts body to path with key and returns status and body.
func (f *fixture) postClaim(path, key string, body []byte) (int, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.http.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/geo+json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// storedRows reads a stored version's observations from the store.
func storedRows(t *testing.T, st evidence.Store, id string, version int) []evidence.Observation {
	t.Helper()
	var out []evidence.Observation
	err := st.Observations(context.Background(), id, version, func(o *evidence.Observation) error {
		out = append(out, *o)
		return nil
	})
	if err != nil {
		t.Fatalf("observations of %s v%d: %v", id, version, err)
	}
	return out
}

func TestClaimStoredAsVersions(t *testing.T) {
	f, logBuf := newClaimsFixture(t)
	st := f.srv.Evidence()
	v1 := claimBody(
		claimFeature(geomSquare, map[string]any{"technology": "4G", "as_of": "2026-10-01"}),
		claimFeature(geomMulti, map[string]any{"technology": "3g", "carrier": "telkom", "as_of": "2026-10-01"}),
	)
	code, raw := f.postClaim("/api/v1/claims/telkom-banten?carrier=telkom", keySub, v1)
	if code != http.StatusCreated {
		t.Fatalf("first claim: %d %s", code, raw)
	}
	var got struct {
		Layer   evidence.Layer
		Version int
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Layer.Kind != evidence.KindClaim || got.Layer.Submitter != "telsub" ||
		got.Layer.Carrier != "telkom" || got.Layer.Source != "telkom" || got.Layer.Rows != 2 ||
		!got.Layer.Date.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) ||
		got.Layer.Licence != "submitted by telsub under the province's data agreement" {
		t.Errorf("first claim answered %+v", got)
	}
	rows := storedRows(t, st, "telkom-banten", 1)
	if len(rows) != 2 || rows[0].Tech != "4G" || rows[1].Tech != "3G" || len(rows[0].Area) != 1 || len(rows[1].Area) != 2 ||
		rows[0].Carrier != "telkom" || rows[1].Line != 1 {
		t.Fatalf("stored rows %+v", rows)
	}

	// The second, without as_of and with a licence of its own: version 2,
	// dated today; version 1 stays readable.
	v2 := claimBody(claimFeature(geomSquare, map[string]any{"technology": "5G", "carrier": "telkom"}))
	code, raw = f.postClaim("/api/v1/claims/telkom-banten?licence=CC-BY-4.0", keySub, v2)
	if code != http.StatusCreated {
		t.Fatalf("second claim: %d %s", code, raw)
	}
	versions, err := st.Versions(context.Background(), "telkom-banten")
	if err != nil || len(versions) != 2 {
		t.Fatalf("versions %v %v", versions, err)
	}
	if l := versions[1]; l.Version != 2 || l.Licence != "CC-BY-4.0" || !l.Date.Equal(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)) || l.Rows != 1 {
		t.Errorf("version 2 is %+v", l)
	}
	if rows := storedRows(t, st, "telkom-banten", 1); len(rows) != 2 {
		t.Errorf("version 1 now has %d rows, want its 2", len(rows))
	}

	// The partner lists its submissions and their versions.
	var list struct{ Claims []evidence.Layer }
	if code, _, raw := f.fetch("/api/v1/claims", keySub); code != 200 || json.Unmarshal(raw, &list) != nil ||
		len(list.Claims) != 1 || list.Claims[0].Version != 2 {
		t.Errorf("list: %d %s", code, raw)
	}
	var hist struct{ Versions []evidence.Layer }
	if code, _, raw := f.fetch("/api/v1/claims/telkom-banten", keySub); code != 200 || json.Unmarshal(raw, &hist) != nil ||
		len(hist.Versions) != 2 || hist.Versions[0].Version != 1 {
		t.Errorf("versions: %d %s", code, raw)
	}
	// Another submitting partner neither sees nor overwrites it.
	if code, _, raw := f.fetch("/api/v1/claims/telkom-banten", keySubOther); code != 404 {
		t.Errorf("another partner's versions: %d %s", code, raw)
	}
	if code, raw := f.postClaim("/api/v1/claims/telkom-banten", keySubOther, v2); code != http.StatusConflict {
		t.Errorf("another partner's id: %d %s", code, raw)
	}
	if vs, _ := st.Versions(context.Background(), "telkom-banten"); len(vs) != 2 {
		t.Errorf("%d versions after the refused overwrite, want 2", len(vs))
	}

	// The audit line names the claim and what was stored.
	var posts []map[string]any
	for _, l := range auditLines(t, logBuf) {
		if l["endpoint"] == "POST /api/v1/claims/{id}" {
			posts = append(posts, l)
		}
	}
	if len(posts) != 3 || posts[0]["resource"] != "/api/v1/claims/telkom-banten" || posts[0]["rows"] != 2.0 ||
		posts[0]["status"] != 201.0 || posts[0]["partner"] != "telsub" || posts[2]["status"] != 409.0 {
		t.Errorf("audit lines of the posts: %v", posts)
	}
}

// problem is a refusal's problem, as the 400 lists them.
type problem struct {
	Feature int
	Field   string
	Value   string
	Message string
}

func TestClaimRefusalsStoreNothing(t *testing.T) {
	f, _ := newClaimsFixture(t)
	st := f.srv.Evidence()
	good := claimFeature(geomSquare, map[string]any{"technology": "4G"})
	big := claimBody(claimFeature(`{"type":"Polygon","coordinates":[[`+strings.Repeat("[100.1,0.1],", claimBodyLimit/12)+`[100.1,0.1]]]}`, map[string]any{"technology": "4G"}))
	for _, tc := range []struct {
		name, path, key string
		body            []byte
		code            int
		want            []problem // each must be listed (Message: a part of it)
		inBody          string    // for a refusal without problems
	}{
		{name: "bow-tie", body: claimBody(good, claimFeature(geomBowTie, map[string]any{"technology": "4G"})), code: 400,
			want: []problem{{Feature: 1, Field: "geometry", Message: "not simple"}}},
		{name: "unknown technology", body: claimBody(claimFeature(geomSquare, map[string]any{"technology": "6G"}), good), code: 400,
			want: []problem{{Feature: 0, Field: "properties.technology", Value: "6G", Message: "not one of 5G, 4G, 3G, 2G"}}},
		{name: "out of bounds", body: claimBody(good, good, claimFeature(geomOutOfBounds, map[string]any{"technology": "4G"})), code: 400,
			want: []problem{{Feature: 2, Field: "geometry.coordinates", Value: "[200.1, 0.1]", Message: "outside WGS84 bounds"}}},
		{name: "unclosed ring", body: claimBody(claimFeature(geomUnclosed, map[string]any{"technology": "4G"})), code: 400,
			want: []problem{{Feature: 0, Field: "geometry.coordinates", Message: "not closed"}}},
		{name: "every problem at once", body: claimBody(
			claimFeature(geomBowTie, map[string]any{"technology": "4G"}),
			claimFeature(geomPoint, map[string]any{"technology": "LTE"}),
			claimFeature(geomSquare, map[string]any{"technology": "4G", "as_of": "last week"})), code: 400,
			want: []problem{
				{Feature: 0, Field: "geometry", Message: "not simple"},
				{Feature: 1, Field: "geometry.type", Value: "Point", Message: "Polygons or MultiPolygons"},
				{Feature: 1, Field: "properties.technology", Value: "LTE"},
				{Feature: 2, Field: "properties.as_of", Value: "last week", Message: "YYYY-MM-DD"},
			}},
		{name: "no carrier", path: "/api/v1/claims/c1", body: claimBody(good), code: 400,
			want: []problem{{Feature: 0, Field: "properties.carrier", Message: "no carrier"}}},
		{name: "not GeoJSON", body: []byte(`{"type":"Feature"`), code: 400,
			want: []problem{{Feature: -1, Field: "body"}}},
		{name: "carrier outside scope", body: claimBody(claimFeature(geomSquare, map[string]any{"technology": "4G", "carrier": "indosat"})),
			path: "/api/v1/claims/c1", code: 403, inBody: `carrier \"indosat\" is outside partner telsub's scope`},
		{name: "carrier parameter outside scope", path: "/api/v1/claims/c1?carrier=indosat", body: claimBody(good), code: 403, inBody: `indosat`},
		{name: "partner without submit", key: keyNoSubmit, body: claimBody(good), code: 403, inBody: "partners[].submit"},
		{name: "no key", key: "-", body: claimBody(good), code: 401},
		{name: "past the body limit", body: big, code: 413, inBody: "claim_limits.max_bytes"},
		{name: "bad id", path: "/api/v1/claims/Bad%20Id?carrier=telkom", body: claimBody(good), code: 400, inBody: "claim id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, key := tc.path, tc.key
			if path == "" {
				path = "/api/v1/claims/c1?carrier=telkom"
			}
			switch key {
			case "":
				key = keySub
			case "-":
				key = ""
			}
			code, raw := f.postClaim(path, key, tc.body)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %.500s", code, tc.code, raw)
			}
			if !strings.Contains(string(raw), tc.inBody) {
				t.Errorf("answer %.500s does not say %q", raw, tc.inBody)
			}
			if len(tc.want) > 0 {
				var refusal struct {
					Problems      []problem
					ProblemsTotal int `json:"problems_total"`
				}
				if err := json.Unmarshal(raw, &refusal); err != nil {
					t.Fatalf("%v: %s", err, raw)
				}
				if refusal.ProblemsTotal != len(refusal.Problems) || len(refusal.Problems) != len(tc.want) {
					t.Errorf("%d problems (total %d), want %d: %s", len(refusal.Problems), refusal.ProblemsTotal, len(tc.want), raw)
				}
				for _, w := range tc.want {
					found := false
					for _, p := range refusal.Problems {
						if p.Feature == w.Feature && p.Field == w.Field && (w.Value == "" || p.Value == w.Value) && strings.Contains(p.Message, w.Message) {
							found = true
						}
					}
					if !found {
						t.Errorf("no problem %+v in %s", w, raw)
					}
				}
			}
			layers, err := st.Layers(context.Background())
			if err != nil || len(layers) != 0 {
				t.Errorf("after a refusal the store holds %v (%v), want nothing", layers, err)
			}
		})
	}
}

func TestSubmitNeedsCarriers(t *testing.T) {
	err := partner.Validate([]partner.Config{{Name: "x", KeySHA256: hash("k"), Submit: true}})
	if err == nil || !strings.Contains(err.Error(), "partners[0].submit needs partners[0].carriers") {
		t.Errorf("submit without carriers: %v", err)
	}
	if err := partner.Validate([]partner.Config{{Name: "x", KeySHA256: hash("k"), Submit: true, Carriers: []string{"telkom"}}}); err != nil {
		t.Errorf("submit with carriers: %v", err)
	}
}

// TestClaimBodyLimitWhileReading: a body sent without a length (chunked)
// is cut at the limit while it is read: 413, nothing stored.
func TestClaimBodyLimitWhileReading(t *testing.T) {
	f, _ := newClaimsFixture(t)
	ring := strings.Repeat("[100.1,0.1],", claimBodyLimit/12) + "[100.1,0.1]"
	body := claimBody(claimFeature(`{"type":"Polygon","coordinates":[[`+ring+`]]}`, map[string]any{"technology": "4G"}))
	req, _ := http.NewRequest("POST", f.http.URL+"/api/v1/claims/c1?carrier=telkom", struct{ io.Reader }{bytes.NewReader(body)})
	req.Header.Set("Authorization", "Bearer "+keySub)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), "max_bytes (65536)") {
		t.Errorf("chunked body past the limit: %d %s (request length %d)", resp.StatusCode, raw, req.ContentLength)
	}
	if layers, err := f.srv.Evidence().Layers(context.Background()); err != nil || len(layers) != 0 {
		t.Errorf("stored %v %v", layers, err)
	}
}

// TestClaimRateLimited: the partner's rate limit applies to posts too.
func TestClaimRateLimited(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Partners = []partner.Config{{Name: "telsub", KeySHA256: hash(keySub), Carriers: []string{"telkom"}, Submit: true,
			RateLimit: partner.RateLimit{RequestsPerSecond: 0.001, Burst: 1}}}
	})
	body := claimBody(claimFeature(geomSquare, map[string]any{"technology": "4G"}))
	if code, raw := f.postClaim("/api/v1/claims/c1?carrier=telkom", keySub, body); code != 201 {
		t.Fatalf("first post: %d %s", code, raw)
	}
	if code, raw := f.postClaim("/api/v1/claims/c1?carrier=telkom", keySub, body); code != http.StatusTooManyRequests {
		t.Errorf("second post at once: %d %s, want 429", code, raw)
	}
	if vs, err := f.srv.Evidence().Versions(context.Background(), "c1"); err != nil || len(vs) != 1 {
		t.Errorf("versions %v %v, want the first only", vs, err)
	}
}
