package collector

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

// square is a one-by-one degree polygon with its south-west corner at lon, lat.
func square(lon, lat, size float64) orb.Polygon {
	return orb.Polygon{{{lon, lat}, {lon + size, lat}, {lon + size, lat + size}, {lon, lat + size}, {lon, lat}}}
}

// fixtureRegions is province 99 with two kabupaten and three kecamatan.
func fixtureRegions(t *testing.T) *region.Regions {
	t.Helper()
	mk := func(code, name string, pop int64, p orb.Polygon) *region.Region {
		return &region.Region{Code: code, Name: name, Level: 3, Population: pop, PopulationKnown: true, Geometry: p, Bound: p.Bound()}
	}
	rs, err := region.New([]*region.Region{
		mk("99.01.01", "Barat", 1000, square(100, 0, 0.5)),
		mk("99.01.02", "Timur", 2000, square(100.5, 0, 0.5)),
		mk("99.02.01", "Jauh", 4000, square(101, 0, 0.5)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

type fixture struct {
	t    *testing.T
	srv  *Server
	http *httptest.Server
	now  time.Time
}

func newFixture(t *testing.T, mutate func(*Config)) *fixture {
	t.Helper()
	return newFixtureOn(t, fixtureRegions(t), slog.New(slog.DiscardHandler), mutate)
}

// newFixtureOn is newFixture on other regions, logging to log.
func newFixtureOn(t *testing.T, regions *region.Regions, log *slog.Logger, mutate func(*Config)) *fixture {
	t.Helper()
	cfg := DefaultConfig
	cfg.Probes = []ProbeConfig{
		{ID: "west", TokenSHA256: hash("tok-west"), Region: "99.01.01"},
		{ID: "east", TokenSHA256: hash("tok-east"), Location: &Location{Lat: 0.25, Lon: 100.75}},
	}
	cfg.Viewers = []ViewerConfig{{Name: "planner", KeySHA256: hash("view-key")}}
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	ev, err := evidence.OpenFile(filepath.Join(t.TempDir(), evidence.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	f.srv, err = NewServer(&cfg, st, regions, log, Options{Now: func() time.Time { return f.now }, Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	f.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.http.Close)
	return f
}

func gz(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// post sends a gzip body to the ingest endpoint and decodes the answer.
func (f *fixture) post(token string, body []byte) (int, wire.IngestResponse, string) {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.http.URL+"/api/v1/ingest", bytes.NewReader(body))
	req.Header.Set("Content-Encoding", "gzip")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ir wire.IngestResponse
	json.Unmarshal(raw, &ir)
	return resp.StatusCode, ir, string(raw)
}

// get is fetch decoding a 200's JSON body into v.
func (f *fixture) get(path, key string, v any) int {
	f.t.Helper()
	code, _, body := f.fetch(path, key)
	if v != nil && code == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			f.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return code
}

// results makes n results of seqs first.., a minute apart, ending at end.
func results(first uint64, n int, end time.Time, ok bool, ms float64) []wire.Result {
	out := make([]wire.Result, n)
	for i := range out {
		out[i] = wire.Result{Seq: first + uint64(i), Time: end.Add(-time.Duration(n-i) * 30 * time.Second),
			Check: "portal", Kind: wire.KindHTTP, Target: "http://127.0.0.1:9/", OK: ok, DurationMS: ms}
		if !ok {
			out[i].ErrorClass = wire.ClassRefused
		}
	}
	return out
}

func TestIngestAuth(t *testing.T) {
	f := newFixture(t, nil)
	body := gz(t, wire.Batch{Probe: "west", Results: results(1, 1, f.now, true, 10)})
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", 401},
		{"wrong token", "tok-nobody", 401},
		{"another probe's token", "tok-east", 403},
		{"right token", "tok-west", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, raw := f.post(tc.token, body)
			if code != tc.want {
				t.Errorf("status %d (%s), want %d", code, raw, tc.want)
			}
		})
	}
}

func TestIngestKeepsGoodNeighboursOfBadResults(t *testing.T) {
	f := newFixture(t, nil)
	good := results(1, 5, f.now, true, 10)
	raws := []any{good[0], good[1], good[2], good[3], good[4]}
	bad := good[1]
	bad.Kind = "ftp"
	raws[1] = bad
	raws[3] = map[string]any{"seq": 4, "time": f.now, "check": "c", "kind": "tcp", "target": "x", "duration_ms": "slow"}
	raws = append(raws, map[string]any{"check": "no seq"})
	code, ir, raw := f.post("tok-west", gz(t, map[string]any{"probe": "west", "results": raws}))
	if code != 200 {
		t.Fatalf("status %d: %s", code, raw)
	}
	if ir.Stored != 3 || len(ir.Rejected) != 3 {
		t.Fatalf("stored %d rejected %d, want 3 and 3: %s", ir.Stored, len(ir.Rejected), raw)
	}
	want := []wire.Rejection{{Index: 1, Seq: 2, Field: "kind"}, {Index: 3, Seq: 4, Field: "duration_ms"}, {Index: 5, Seq: 0, Field: "seq"}}
	for i, w := range want {
		got := ir.Rejected[i]
		if got.Index != w.Index || got.Seq != w.Seq || got.Field != w.Field || got.Reason == "" {
			t.Errorf("rejected[%d] = %+v, want index %d seq %d field %s with a reason", i, got, w.Index, w.Seq, w.Field)
		}
	}
	if !strings.Contains(ir.Rejected[0].Reason, `"ftp"`) {
		t.Errorf("reason %q does not name the value", ir.Rejected[0].Reason)
	}
	// Rejected seqs are settled: the acknowledgement passes them.
	if ir.AckedSeq != 5 {
		t.Errorf("acked %d, want 5", ir.AckedSeq)
	}
}

func TestIngestStoresEachSeqOnce(t *testing.T) {
	f := newFixture(t, nil)
	body := gz(t, wire.Batch{Probe: "west", Results: results(1, 10, f.now, true, 10)})
	for i, want := range []int{10, 0, 0} {
		code, ir, raw := f.post("tok-west", body)
		if code != 200 || ir.Stored != want || ir.Duplicates != 10-want || ir.AckedSeq != 10 {
			t.Fatalf("send %d: status %d %s", i, code, raw)
		}
	}
	var probes struct{ Probes []probeView }
	if code := f.get("/api/v1/probes", "view-key", &probes); code != 200 {
		t.Fatalf("probes: %d", code)
	}
	p := probes.Probes[1] // sorted: east, west
	if p.ID != "west" || p.ResultsStored != 10 || p.LastSeq != 10 || p.LastSeen == nil || !p.LastSeen.Equal(f.now) {
		t.Errorf("probe view %+v", p)
	}
	if e := probes.Probes[0]; e.ID != "east" || e.Region != "99.01.02" || e.LastSeen != nil {
		t.Errorf("east placed by its location: %+v", e)
	}
}

func TestIngestLimits(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limits.MaxBodyBytes, c.Limits.MaxDecodedBytes, c.Limits.MaxResults = 64<<10, 1<<20, 50
	})
	// 100 KB of random bytes stay about 100 KB compressed: over the
	// compressed limit, under the decoded one.
	noise := make([]byte, 100<<10)
	rand.Read(noise)
	var big bytes.Buffer
	zw := gzip.NewWriter(&big)
	zw.Write(noise)
	zw.Close()
	// 10 MB of zeros compress to about 10 KB: under the compressed limit,
	// over the decoded one.
	zeros := make([]byte, 1<<20)
	var small bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&small, gzip.BestCompression)
	for range 10 {
		zw.Write(zeros)
	}
	zw.Close()
	for _, tc := range []struct {
		name string
		body []byte
		want int
		msg  string
	}{
		{"compressed too large", big.Bytes(), 413, "limits.max_body_bytes"},
		{"gzip bomb", small.Bytes(), 413, "limits.max_decoded_bytes"},
		{"too many results", gz(t, wire.Batch{Results: results(1, 51, f.now, true, 1)}), 413, "51 results, limits.max_results is 50"},
		{"not gzip", []byte("{}"), 400, "gzip"},
		{"not JSON", gz(t, "[1,2]"), 400, "batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, raw := f.post("tok-west", tc.body)
			if code != tc.want || !strings.Contains(raw, tc.msg) {
				t.Errorf("status %d %s, want %d with %q", code, raw, tc.want, tc.msg)
			}
		})
	}
}

type coverageAnswer struct {
	Type     string
	Level    int
	Features []struct {
		ID         string
		Properties struct {
			Code, Name, Status string
			Level, Samples     int
			Availability       float64
			LatencyP50         *float64 `json:"latency_p50_ms"`
			LatencyP95         *float64 `json:"latency_p95_ms"`
			Probes             int
			LastSeen           *time.Time `json:"last_seen"`
			Population         *int64
		}
	}
}

func (f *fixture) coverage(query string) map[string]int {
	f.t.Helper()
	var ca coverageAnswer
	if code := f.get("/api/v1/coverage?"+query, "view-key", &ca); code != 200 {
		f.t.Fatalf("coverage %s: %d", query, code)
	}
	idx := map[string]int{}
	for i, ft := range ca.Features {
		idx[ft.Properties.Code] = i
	}
	lastCoverage = ca
	return idx
}

var lastCoverage coverageAnswer

// near allows the latency sketch's 1% relative error.
func near(got, want float64) bool { return got >= want*0.99 && got <= want*1.01 }

func TestCoverage(t *testing.T) {
	f := newFixture(t, nil)
	// west: 20 successes of 10..29 ms; east: 20 failures.
	west := results(1, 20, f.now, true, 0)
	for i := range west {
		west[i].DurationMS = float64(10 + i)
	}
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: west}))
	f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: results(1, 20, f.now, false, 5)}))

	idx := f.coverage("level=3")
	ca := lastCoverage
	if ca.Type != "FeatureCollection" || len(ca.Features) != 3 || ca.Level != 3 {
		t.Fatalf("answer: %+v", ca)
	}
	w := ca.Features[idx["99.01.01"]].Properties
	if w.Status != "good" || w.Samples != 20 || w.Availability != 1 || w.Probes != 1 ||
		!near(*w.LatencyP50, 19) || !near(*w.LatencyP95, 28) || *w.Population != 1000 || !w.LastSeen.Equal(f.now) {
		t.Errorf("west: %+v", w)
	}
	e := ca.Features[idx["99.01.02"]].Properties
	if e.Status != "blank" || e.Samples != 20 || e.Availability != 0 || e.LatencyP50 != nil {
		t.Errorf("east: %+v", e)
	}
	if j := ca.Features[idx["99.02.01"]].Properties; j.Status != "unmeasured" || j.Samples != 0 || j.LastSeen != nil {
		t.Errorf("region without probes: %+v", j)
	}

	idx = f.coverage("level=2")
	k := lastCoverage.Features[idx["99.01"]].Properties
	if k.Samples != 40 || k.Availability != 0.5 || k.Probes != 2 || k.Status != "degraded" || *k.Population != 3000 {
		t.Errorf("kabupaten roll-up: %+v", k)
	}
	idx = f.coverage("level=1")
	if p := lastCoverage.Features[idx["99"]].Properties; p.Samples != 40 || *p.Population != 7000 {
		t.Errorf("province roll-up: %+v", p)
	}

	// A window that ends before the results has none of them.
	idx = f.coverage("level=3&from=2026-11-27T07:00:00Z&to=2026-11-27T08:00:00Z")
	if s := lastCoverage.Features[idx["99.01.01"]].Properties; s.Samples != 0 || s.Status != "unmeasured" {
		t.Errorf("past window: %+v", s)
	}

	// Six minutes without a report: both measured kecamatan are silent.
	f.now = f.now.Add(6 * time.Minute)
	idx = f.coverage("level=3")
	for _, code := range []string{"99.01.01", "99.01.02"} {
		if s := lastCoverage.Features[idx[code]].Properties.Status; s != "silent" {
			t.Errorf("%s after 6 min without reports: %s, want silent", code, s)
		}
	}
}

func TestCoverageBadQuery(t *testing.T) {
	f := newFixture(t, nil)
	for _, q := range []string{"level=5", "level=x", "window=-1m", "window=soon", "from=2026-11-27T08:00:00Z"} {
		if code := f.get("/api/v1/coverage?"+q, "view-key", nil); code != 400 {
			t.Errorf("%s: status %d, want 400", q, code)
		}
	}
}

func TestReadersNeedAKey(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range []string{"/", "/api/v1/coverage", "/api/v1/probes", "/metrics"} {
		if code := f.get(path, "", nil); code != 401 {
			t.Errorf("GET %s without key: %d, want 401", path, code)
		}
		if code := f.get(path, "wrong", nil); code != 401 {
			t.Errorf("GET %s with a wrong key: %d, want 401", path, code)
		}
		if code := f.get(path, "view-key", nil); code != 200 {
			t.Errorf("GET %s with the key: %d, want 200", path, code)
		}
	}
	// A browser sends the key as the Basic password.
	req, _ := http.NewRequest("GET", f.http.URL+"/", nil)
	req.SetBasicAuth("planner", "view-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("basic auth: %d", resp.StatusCode)
	}
	if code := f.get("/healthz", "", nil); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}

func TestMapPage(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	f.post("tok-east", gz(t, wire.Batch{Probe: "east", Results: results(1, 10, f.now, false, 5)}))
	f.srv.opt.Banner = "Simulation <test>"
	resp, err := http.Get(f.http.URL + "/?level=3&lang=en")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	html := string(page)
	for _, want := range []string{
		"Simulation &lt;test&gt;", "<svg", `data-code="99.01.02"`, coverage.StatusBlank.Colour(),
		`<tr data-code="99.02.01">`, "<strong>Timur</strong> (99.01.02): blank, since ", "2,000 people affected.",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("map page lacks %q", want)
		}
	}
	// The blank region's own path carries the blank colour.
	i := strings.Index(html, `data-code="99.01.02"`)
	j := strings.LastIndex(html[:i], "<path")
	k := strings.Index(html[i:], ">")
	if i < 0 || j < 0 || !strings.Contains(html[j:i+k], coverage.StatusBlank.Colour()) {
		t.Errorf("path of 99.01.02 is not filled with the blank colour: %s", html[max(j, 0):i+k])
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublicRead = true })
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 7, f.now, true, 5)}))
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 7, f.now, true, 5)}))
	f.post("nobody", gz(t, wire.Batch{}))
	resp, err := http.Get(f.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`jangkau_ingest_results_total{outcome="stored"} 7`,
		`jangkau_ingest_results_total{outcome="duplicate"} 7`,
		`jangkau_ingest_requests_total{code="200"} 2`,
		`jangkau_ingest_requests_total{code="401"} 1`,
		`jangkau_probe_results_stored_total{probe="west",region="99.01.01"} 7`,
		`jangkau_probe_acked_seq{probe="west",region="99.01.01"} 7`,
		fmt.Sprintf(`jangkau_probe_last_seen_timestamp_seconds{probe="west",region="99.01.01"} %g`, float64(f.now.Unix())),
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestCoverageSeesEveryWrite: the engine keeps folds between writes; an
// ingest into the window, live or from a spool hours late, shows in the
// next answer to the very same query.
func TestCoverageSeesEveryWrite(t *testing.T) {
	f := newFixture(t, nil)
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 20, f.now, true, 12)}))
	const q = "level=3&from=2026-11-27T05:30:00Z&to=2026-11-27T09:00:00Z"
	samples := func() int {
		idx := f.coverage(q)
		return lastCoverage.Features[idx["99.01.01"]].Properties.Samples
	}
	if n := samples(); n != 20 {
		t.Fatalf("first answer: %d samples, want 20", n)
	}
	if n := samples(); n != 20 {
		t.Fatalf("repeat: %d samples, want 20", n)
	}
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(21, 4, f.now, false, 0)}))
	if n := samples(); n != 24 {
		t.Errorf("after 4 live results: %d samples, want 24", n)
	}
	// A spool drains results of 06:10..06:20 after the acknowledged ones.
	late := results(25, 20, f.now.Add(-170*time.Minute), true, 30)
	if code, _, body := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: late})); code != 200 {
		t.Fatalf("late batch: %d %s", code, body)
	}
	if n := samples(); n != 44 {
		t.Errorf("after 20 late results in an old hour: %d samples, want 44", n)
	}
}
