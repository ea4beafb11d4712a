package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testenv"
)

// needTool finds a binary of Debian's prometheus package (testenv's rule
// when it is missing).
func needTool(t *testing.T, name string) string {
	t.Helper()
	return testenv.LookPath(t, name, "prometheus")
}

// twoKecamatan is a region file of two kecamatan side by side.
const twoKecamatan = `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"kode":"99.01.01","nama":"Barat"},"geometry":{"type":"Polygon","coordinates":[[[100,0],[100.5,0],[100.5,0.5],[100,0.5],[100,0]]]}},
 {"type":"Feature","properties":{"kode":"99.01.02","nama":"Timur"},"geometry":{"type":"Polygon","coordinates":[[[100.5,0],[101,0],[101,0.5],[100.5,0.5],[100.5,0]]]}},
 {"type":"Feature","properties":{"kode":"99.02.01","nama":"Jauh"},"geometry":{"type":"Polygon","coordinates":[[[101,0],[101.5,0],[101.5,0.5],[101,0.5],[101,0]]]}}]}`

// getAuth GETs with the viewer key and decodes JSON into v.
func getAuth(url, key string, v any) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

type promVector []struct {
	Metric map[string]string
	Value  [2]any
}

func promQuery(base, q string) (promVector, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Status string
		Data   struct{ Result promVector }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != "success" {
		return nil, fmt.Errorf("query %s: %v %s", q, err, out.Status)
	}
	return out.Data.Result, nil
}

func sampleValue(s [2]any) float64 {
	str, _ := s[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// TestPrometheusScrapesCollector runs the real collector and two probes,
// lints a live scrape with promtool, then lets a real Prometheus (with the
// rules of dashboards/prometheus) scrape the collector with the viewer key,
// and checks that what Prometheus stored matches the collector's own
// coverage and probes answers.
func TestPrometheusScrapesCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary and Prometheus; skipped with -short")
	}
	promBin, promtool := needTool(t, "prometheus"), needTool(t, "promtool")
	bin := buildBinary(t)
	dir := t.TempDir()
	okSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer okSrv.Close()
	deadAddr := freeAddr(t)
	collectorAddr, promAddr := freeAddr(t), freeAddr(t)
	base, promBase := "http://"+collectorAddr, "http://"+promAddr
	const key = "viewer-key-for-prometheus"

	write(t, filepath.Join(dir, "regions.geojson"), twoKecamatan)
	write(t, filepath.Join(dir, "collector.yaml"), fmt.Sprintf(`listen: %s
data_dir: ./data
regions: {file: regions.geojson}
viewers: [{name: prometheus, key_sha256: %q}]
metrics: {window: 15m, refresh: 1s, levels: [1, 2, 3]}
probes:
  - {id: healthy, token_sha256: %q, region: "99.01.01"}
  - {id: dead, token_sha256: %q, region: "99.01.02"}
`, collectorAddr, sum(key), sum("tok-healthy"), sum("tok-dead")))
	for _, p := range []struct{ id, check string }{
		{"healthy", fmt.Sprintf(`{name: portal, kind: http, target: %q, interval: 1s, timeout: 500ms, service: perizinan}`, okSrv.URL+"/")},
		{"dead", fmt.Sprintf(`{name: gateway, kind: tcp, target: %q, interval: 1s, timeout: 500ms}`, deadAddr)},
	} {
		write(t, filepath.Join(dir, p.id+".yaml"), fmt.Sprintf("id: %s\ncollector: %s\ntoken: tok-%s\nupload: {interval: 1s}\nchecks:\n  - %s\n",
			p.id, base, p.id, p.check))
	}
	rules, err := filepath.Abs(filepath.Join("..", "..", "dashboards", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: jangkau-collector
    authorization: {credentials: %q}
    static_configs: [{targets: [%q]}]
`, rules, key, collectorAddr))

	start(t, bin, "collector", "--config", filepath.Join(dir, "collector.yaml"))
	start(t, bin, "probe", "--config", filepath.Join(dir, "healthy.yaml"))
	start(t, bin, "probe", "--config", filepath.Join(dir, "dead.yaml"))
	start(t, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)

	// Wait until both measured kecamatan have enough samples for a status.
	type cov struct {
		Features []struct {
			Properties struct {
				Code, Status string
				Samples      int
			}
		}
	}
	statuses := func() map[string]string {
		var c cov
		if getAuth(base+"/api/v1/coverage?level=3", key, &c) != nil {
			return nil
		}
		out := map[string]string{}
		for _, f := range c.Features {
			if f.Properties.Samples >= 5 || f.Properties.Status == "unmeasured" {
				out[f.Properties.Code] = f.Properties.Status
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	var want map[string]string
	for want = statuses(); len(want) < 3 || want["99.01.01"] == "unmeasured" || want["99.01.02"] == "unmeasured"; want = statuses() {
		if time.Now().After(deadline) {
			t.Fatalf("no coverage with 5 samples per measured kecamatan within 60 s: %v", want)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if want["99.01.01"] != "good" || want["99.01.02"] != "blank" || want["99.02.01"] != "unmeasured" {
		t.Fatalf("collector's coverage: %v, want good, blank, unmeasured", want)
	}

	// promtool lints a live scrape, read with the viewer key.
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(scrape), "jangkau_region_status{") {
		t.Fatalf("scrape without region series:\n%s", scrape)
	}
	lint := exec.Command(promtool, "check", "metrics")
	lint.Stdin = strings.NewReader(string(scrape))
	if out, err := lint.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// Prometheus has the same statuses, one-hot.
	var got map[string]string
	for {
		got = map[string]string{}
		v, err := promQuery(promBase, `jangkau_region_status{job="jangkau-collector", level="3"} == 1`)
		if err == nil {
			for _, s := range v {
				got[s.Metric["code"]] = s.Metric["status"]
			}
		}
		if len(got) == 3 && got["99.01.01"] == want["99.01.01"] && got["99.01.02"] == want["99.01.02"] && got["99.02.01"] == want["99.02.01"] {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("Prometheus has statuses %v (err %v), the collector says %v", got, err, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if v, err := promQuery(promBase, `sum by (code) (jangkau_region_status{level="3"})`); err != nil || len(v) != 3 {
		t.Errorf("status sums: %v %v", v, err)
	} else {
		for _, s := range v {
			if sampleValue(s.Value) != 1 {
				t.Errorf("region %s has %v statuses at 1, want exactly one", s.Metric["code"], s.Value[1])
			}
		}
	}
	// The recording rules of dashboards/prometheus run on these series
	// (evaluated every second, after the scrape).
	for {
		v, err := promQuery(promBase, `jangkau:region_status:count{level="3", status="blank"}`)
		if err == nil && len(v) == 1 && sampleValue(v[0].Value) == 1 {
			break
		}
		if time.Now().After(deadline.Add(45 * time.Second)) {
			t.Fatalf("jangkau:region_status:count of blank kecamatan: %v %v, want 1", v, err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Last seen: Prometheus's value matches the collector's probes answer.
	var probes struct {
		Probes []struct {
			ID       string
			LastSeen time.Time `json:"last_seen"`
		}
	}
	if err := getAuth(base+"/api/v1/probes", key, &probes); err != nil || len(probes.Probes) != 2 {
		t.Fatalf("probes: %v %+v", err, probes)
	}
	v, err := promQuery(promBase, `jangkau_probe_last_seen_timestamp_seconds{job="jangkau-collector"}`)
	if err != nil || len(v) != 2 {
		t.Fatalf("last seen in Prometheus: %v %v", v, err)
	}
	for _, p := range probes.Probes {
		for _, s := range v {
			if s.Metric["probe"] != p.ID {
				continue
			}
			// Prometheus's sample is up to a scrape (1 s) older than the
			// collector's answer; probes upload every second.
			api := float64(p.LastSeen.UnixMilli()) / 1e3
			if d := api - sampleValue(s.Value); d < 0 || d > 5 {
				t.Errorf("probe %s: Prometheus last seen %v, collector %v (%.1f s apart)", p.ID, s.Value[1], api, d)
			}
		}
	}
}
