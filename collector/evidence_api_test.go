package collector

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/geotest"
	"github.com/jangkau/jangkau/geo/region"
)

// evidenceFixture is a collector on Banten's desa with an evidence file,
// a viewer who may import ("officer") and one who may only read
// ("planner").
type evidenceFixture struct {
	t    *testing.T
	url  string
	ev   *evidence.FileStore
	cfg  *Config
	http *httptest.Server
}

var bantenDesa *region.Regions // loaded once: it takes seconds

func newEvidenceFixture(t *testing.T, mutate func(*Config)) *evidenceFixture {
	t.Helper()
	if bantenDesa == nil {
		rs, err := region.LoadFile(geotest.File(t, "banten-adm4.geojson"), region.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bantenDesa = rs
	}
	cfg := DefaultConfig
	cfg.Probes = nil
	cfg.Viewers = []ViewerConfig{
		{Name: "planner", KeySHA256: hash("view-key")},
		{Name: "officer", KeySHA256: hash("import-key"), Import: true},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.DataDir = dir
	ev, err := openEvidence(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	srv, err := NewServer(&cfg, st, bantenDesa, slog.New(slog.DiscardHandler), Options{Evidence: ev, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(h.Close)
	return &evidenceFixture{t: t, url: h.URL, ev: ev, cfg: &cfg, http: h}
}

func evidenceFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("evidence", "importer", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post imports body under id with the query q, as key; it returns the
// status and the decoded JSON answer.
func (f *evidenceFixture) post(id string, q url.Values, key, contentType string, body io.Reader) (int, map[string]any) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+"/api/v1/evidence/layers/"+id+"?"+q.Encode(), body)
	if err != nil {
		f.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		f.t.Fatalf("POST %s: %d, body not JSON: %v", id, resp.StatusCode, err)
	}
	return resp.StatusCode, ans
}

func (f *evidenceFixture) get(path, key string) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.url+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans map[string]any
	json.NewDecoder(resp.Body).Decode(&ans)
	return resp.StatusCode, ans
}

// noLayer checks that the store holds nothing under id.
func (f *evidenceFixture) noLayer(id string) {
	f.t.Helper()
	if _, err := f.ev.Versions(context.Background(), id); !errors.Is(err, evidence.ErrNotFound) {
		f.t.Errorf("the store holds layer %s (%v); want nothing imported", id, err)
	}
}

func podesQuery() url.Values {
	return url.Values{"kind": {"podes"}, "title": {"Podes 2024, sinyal per desa"}, "source": {"BPS (Podes 2024)"},
		"licence": {"BPS terms of use"}, "date": {"2024-05-01"}, "method": {"village census"}}
}

// csvRows reads a fixture with encoding/csv: its data rows.
func csvRows(t *testing.T, data []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[1:]
}

func TestEvidenceImportRefusals(t *testing.T) {
	f := newEvidenceFixture(t, func(c *Config) { c.PublicRead = true; c.Limits.MaxEvidenceBytes = 8 << 10 })
	podes := evidenceFile(t, "podes-2024.csv")
	ookla := evidenceFile(t, "ookla-mobile-2024q3.csv") // 15 KB, past the 8 KiB limit
	lines := strings.Count(string(podes), "\n")
	for _, tc := range []struct {
		name   string
		key    string
		q      url.Values
		body   io.Reader
		status int
		says   string
	}{
		{"no key, even with public_read", "", podesQuery(), bytes.NewReader(podes), http.StatusUnauthorized, "viewer key"},
		{"an unknown key", "guess", podesQuery(), bytes.NewReader(podes), http.StatusUnauthorized, "viewer key"},
		{"a viewer who may only read", "view-key", podesQuery(), bytes.NewReader(podes), http.StatusForbidden, "import: true"},
		{"past the limit", "import-key", podesQuery(), bytes.NewReader(ookla), http.StatusRequestEntityTooLarge, "limits.max_evidence_bytes"},
		{"past the limit, chunked", "import-key", podesQuery(), io.MultiReader(bytes.NewReader(ookla)), http.StatusRequestEntityTooLarge, "limits.max_evidence_bytes"},
		{"a claim", "import-key", with(podesQuery(), "kind", "claim"), bytes.NewReader(podes), http.StatusBadRequest, "partner"},
		{"no source", "import-key", with(podesQuery(), "source", ""), bytes.NewReader(podes), http.StatusBadRequest, "source is required"},
		{"a date not YYYY-MM-DD", "import-key", with(podesQuery(), "date", "1/5/2024"), bytes.NewReader(podes), http.StatusBadRequest, "YYYY-MM-DD"},
		{"ookla without network", "import-key", with(podesQuery(), "kind", "ookla"), bytes.NewReader(podes), http.StatusBadRequest, "network"},
		{"Content-Type Parquet, body CSV", "import-key", podesQuery(), bytes.NewReader(podes), http.StatusBadRequest, "PAR1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := "text/csv"
			if strings.Contains(tc.name, "Parquet") {
				ct = "application/vnd.apache.parquet"
			}
			status, ans := f.post("podes-2024", tc.q, tc.key, ct, tc.body)
			if msg, _ := ans["error"].(string); status != tc.status || !strings.Contains(msg, tc.says) {
				t.Errorf("%d %q; want %d saying %q", status, msg, tc.status, tc.says)
			}
			f.noLayer("podes-2024")
		})
	}
	t.Run("one bad row at the end", func(t *testing.T) {
		bad := append(append([]byte{}, podes...), "3602999,Somewhere,sinyal kuat,4G/LTE\n"...)
		status, ans := f.post("podes-2024", podesQuery(), "import-key", "text/csv", bytes.NewReader(bad))
		var refusal ImportRefusal
		b, _ := json.Marshal(ans)
		json.Unmarshal(b, &refusal)
		if status != http.StatusBadRequest || refusal.Total != 1 || len(refusal.Errors) != 1 {
			t.Fatalf("%d %s; want 400 with one row error", status, b)
		}
		if e := refusal.Errors[0]; e.Line != lines+1 || e.Field != "kode_desa" || e.Value != "3602999" || e.Message == "" {
			t.Errorf("%+v; want line %d, kode_desa, 3602999, a message", e, lines+1)
		}
		f.noLayer("podes-2024")
	})
}

func with(q url.Values, k, v string) url.Values {
	c := url.Values{}
	for kk, vv := range q {
		c[kk] = vv
	}
	c.Set(k, v)
	return c
}

func TestEvidenceImport(t *testing.T) {
	f := newEvidenceFixture(t, nil)
	podes := evidenceFile(t, "podes-2024.csv")
	rows := csvRows(t, podes)
	outside := 0
	for _, r := range rows {
		if !strings.HasPrefix(r[0], "36") {
			outside++
		}
	}
	if outside == 0 {
		t.Fatal("the fixture has no desa outside Banten")
	}
	status, ans := f.post("podes-2024", podesQuery(), "import-key", "text/csv", bytes.NewReader(podes))
	var got ImportAnswer
	b, _ := json.Marshal(ans)
	json.Unmarshal(b, &got)
	if status != http.StatusCreated {
		t.Fatalf("%d %s; want 201", status, b)
	}
	if got.Rows != len(rows) || got.Outside != outside || got.Format != "csv" || got.Layer.Version != 1 ||
		got.Layer.Submitter != "officer" || got.Layer.Source != "BPS (Podes 2024)" || got.Layer.Date.Format(time.DateOnly) != "2024-05-01" {
		t.Errorf("%s; want %d rows, %d outside, csv, version 1 by officer with the query's provenance", b, len(rows), outside)
	}
	n := 0
	err := f.ev.Observations(context.Background(), "podes-2024", 0, func(o *evidence.Observation) error {
		if o.Region == "" || o.Signal == evidence.SignalUnknown {
			t.Errorf("stored row %+v has no desa or no signal", o)
		}
		n++
		return nil
	})
	if err != nil || n != len(rows) {
		t.Fatalf("the store holds %d rows (%v); want %d", n, err, len(rows))
	}

	// Ookla as Parquet, told apart by its magic; then the same as CSV, a
	// second version with the same rows.
	q := url.Values{"kind": {"ookla"}, "network": {"mobile"}, "source": {"Ookla"}, "licence": {"CC BY-NC-SA 4.0"}, "date": {"2024-07-01"}}
	ooklaRows := len(csvRows(t, evidenceFile(t, "ookla-mobile-2024q3.csv")))
	for i, file := range []string{"ookla-mobile-2024q3.parquet", "ookla-mobile-2024q3.csv"} {
		status, ans := f.post("ookla-mobile-2024q3", q, "import-key", "application/octet-stream", bytes.NewReader(evidenceFile(t, file)))
		layer, _ := ans["layer"].(map[string]any)
		if status != http.StatusCreated || int(ans["rows"].(float64)) != ooklaRows || ans["format"] != filepath.Ext(file)[1:] || layer["version"] != float64(i+1) {
			t.Errorf("%s: %d %v; want 201, %d rows, version %d", file, status, ans, ooklaRows, i+1)
		}
	}
	status, ans = f.post("ookla-mobile-2024q3", with(podesQuery(), "date", "2024-05-01"), "import-key", "text/csv", bytes.NewReader(podes))
	if status != http.StatusConflict {
		t.Errorf("podes under an ookla id: %d %v; want 409", status, ans)
	}

	status, ans = f.get("/api/v1/evidence/layers", "view-key")
	layers, _ := ans["layers"].([]any)
	if status != http.StatusOK || len(layers) != 2 {
		t.Fatalf("GET layers: %d %v; want 2 layers", status, ans)
	}
	status, ans = f.get("/api/v1/evidence/layers/ookla-mobile-2024q3", "view-key")
	if vs, _ := ans["versions"].([]any); status != http.StatusOK || len(vs) != 2 {
		t.Errorf("GET versions: %d %v; want 2 versions", status, ans)
	}
	if status, _ := f.get("/api/v1/evidence/layers/nothing-here", "view-key"); status != http.StatusNotFound {
		t.Errorf("GET an unknown layer: %d; want 404", status)
	}
	if status, _ := f.get("/api/v1/evidence/layers", ""); status != http.StatusUnauthorized {
		t.Errorf("GET layers without a key: %d; want 401", status)
	}
}
