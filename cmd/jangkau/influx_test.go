package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/internal/testenv"
)

// The InfluxDB tests run the real binary against a real InfluxDB 1.8.10
// that scripts/influxdb.sh builds and starts. Without one they skip,
// except in CI, which starts it (testenv).

func needInflux(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the binary against InfluxDB; skipped with -short")
	}
	if os.Getenv("JANGKAU_INFLUXDB_URL") == "" {
		msg := `no InfluxDB: run eval "$(bash scripts/influxdb.sh start)" first`
		testenv.Missing(t, "%s", msg)
	}
}

type influxServer struct {
	url, token, bucket string
	env                []string
}

// startInflux starts an influxd of the test's own, with its data in dir,
// on free loopback ports, through scripts/influxdb.sh. Started again on
// the same dir it finds its data and user.
func startInflux(t *testing.T, dir string, ports ...string) *influxServer {
	t.Helper()
	env := append(os.Environ(), "JANGKAU_INFLUXDB_DIR="+dir,
		"JANGKAU_INFLUXDB_PORT="+ports[0], "JANGKAU_INFLUXDB_RPC_PORT="+ports[1])
	cmd := exec.Command("bash", "../../scripts/influxdb.sh", "start")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("influxdb.sh start: %v\n%s", err, stderrOf(err))
	}
	s := &influxServer{env: env}
	for _, f := range strings.Fields(string(out)) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "JANGKAU_INFLUXDB_URL":
			s.url = v
		case "JANGKAU_INFLUXDB_TOKEN":
			s.token = v
		case "JANGKAU_INFLUXDB_BUCKET":
			s.bucket = v
		}
	}
	if s.url == "" {
		t.Fatalf("influxdb.sh start printed %q", out)
	}
	return s
}

// stop stops our influxd by the PID the script wrote.
func (s *influxServer) stop(t *testing.T) {
	t.Helper()
	cmd := exec.Command("bash", "../../scripts/influxdb.sh", "stop")
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("influxdb.sh stop: %v\n%s", err, out)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func storageYAML(url, token, bucket string) string {
	return fmt.Sprintf("storage:\n  kind: influxdb\n  influxdb: {url: %q, token: %q, bucket: %q, timeout: 3s}\n", url, token, bucket)
}

// TestInfluxDownCollectorStopsAcking stops InfluxDB during ingest: the
// collector answers 503 (the probe keeps its spool), and when InfluxDB is
// back it recovers by itself. Every seq ends up stored once, none lost.
func TestInfluxDownCollectorStopsAcking(t *testing.T) {
	needInflux(t)
	r := newRig(t, 5)
	ports := []string{port(freeAddr(t)), port(freeAddr(t))}
	idir := filepath.Join(t.TempDir(), "influx")
	ix := startInflux(t, idir, ports...)
	t.Cleanup(func() { ix.stop(t) })
	cfgPath := filepath.Join(r.dir, "collector.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	write(t, cfgPath, string(cfg)+storageYAML(ix.url, ix.token, ix.bucket))
	r.startCollector()
	r.startProbe()
	before := r.waitAcked(5, 20*time.Second)
	if before.AckedSeq < 5 {
		t.Fatalf("nothing acknowledged within 20 s: %+v", before)
	}

	ix.stop(t)
	time.Sleep(6 * time.Second) // results keep coming; the probe's uploads fail
	code, body := get(t, "http://"+r.addr+"/api/v1/probes")
	if code != http.StatusServiceUnavailable {
		t.Errorf("probes with InfluxDB down: HTTP %d %s, want 503", code, body)
	}
	if _, m := get(t, "http://"+r.addr+"/metrics"); !strings.Contains(m, "jangkau_store_errors_total") ||
		strings.Contains(m, "jangkau_store_errors_total 0\n") {
		t.Errorf("no store errors counted while InfluxDB was down")
	}

	startInflux(t, idir, ports...)
	// The probe retries after the collector's Retry-After (5 s).
	after := r.waitAcked(before.AckedSeq+8, 30*time.Second)
	if after.AckedSeq < before.AckedSeq+8 {
		t.Fatalf("no recovery within 30 s of InfluxDB's return: acked %d before, %d now", before.AckedSeq, after.AckedSeq)
	}
	st := r.checkExactlyOnce()
	t.Logf("acked %d before the outage, %d at the end; %+v", before.AckedSeq, st.AckedSeq, st)
}

func port(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// influxQuery runs one InfluxQL statement on the shared InfluxDB.
func influxQuery(t *testing.T, q string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, os.Getenv("JANGKAU_INFLUXDB_URL")+"/query",
		strings.NewReader(url.Values{"q": {q}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Token "+os.Getenv("JANGKAU_INFLUXDB_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Contains(string(b), `"error"`) {
		t.Fatalf("%s: HTTP %d %s", q, resp.StatusCode, b)
	}
}

// twoKab is two kabupaten side by side: 99.01 west, 99.02 east.
const twoKab = `{"type":"FeatureCollection","features":[` +
	`{"type":"Feature","properties":{"kode":"99.01","nama":"Barat"},"geometry":{"type":"Polygon","coordinates":[[[106,-6.5],[106.5,-6.5],[106.5,-6],[106,-6],[106,-6.5]]]}},` +
	`{"type":"Feature","properties":{"kode":"99.02","nama":"Timur"},"geometry":{"type":"Polygon","coordinates":[[[106.5,-6.5],[107,-6.5],[107,-6],[106.5,-6],[106.5,-6.5]]]}}]}`

// TestInfluxScaleOut runs two collectors on one InfluxDB database. Probe
// p1 sends to the first, p2 to the second, p3 through a round-robin load
// balancer to both in turn. Both collectors then give the same probe
// states, exact, and the same coverage.
func TestInfluxScaleOut(t *testing.T) {
	needInflux(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	db := fmt.Sprintf("jangkau_scaleout_%d", time.Now().UnixNano())
	influxQuery(t, fmt.Sprintf(`CREATE DATABASE %q WITH DURATION 1d NAME "rp"`, db))
	t.Cleanup(func() { influxQuery(t, fmt.Sprintf("DROP DATABASE %q", db)) })

	okTarget := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(okTarget.Close)
	write(t, filepath.Join(dir, "regions.geojson"), twoKab)
	addrs := []string{freeAddr(t), freeAddr(t)}
	for i, a := range addrs {
		write(t, filepath.Join(dir, fmt.Sprintf("c%d.yaml", i)), fmt.Sprintf(`listen: %s
data_dir: ./data-%d
public_read: true
regions: {file: regions.geojson}
probes:
  - {id: p1, token_sha256: %q, location: {lat: -6.2, lon: 106.2}, carrier: telkom}
  - {id: p2, token_sha256: %q, location: {lat: -6.2, lon: 106.8}, carrier: telkom}
  - {id: p3, token_sha256: %q, location: {lat: -6.3, lon: 106.3}, carrier: xl}
`, a, i, sum("tok-p1"), sum("tok-p2"), sum("tok-p3"))+storageYAML(os.Getenv("JANGKAU_INFLUXDB_URL"),
			os.Getenv("JANGKAU_INFLUXDB_TOKEN"), db+"/rp"))
		start(t, bin, "collector", "--config", filepath.Join(dir, fmt.Sprintf("c%d.yaml", i)))
	}
	for _, a := range addrs {
		waitUp(t, "http://"+a+"/healthz")
	}
	lb := roundRobin(t, addrs)
	probes := map[string]string{"p1": "http://" + addrs[0], "p2": "http://" + addrs[1], "p3": lb}
	var procs []*exec.Cmd
	for id, collector := range probes {
		write(t, filepath.Join(dir, id+".yaml"), fmt.Sprintf(`id: %s
collector: %s
token: tok-%s
spool: {dir: ./spool-%s}
upload: {interval: 500ms, batch_size: 3, timeout: 5s}
checks:
  - {name: portal, kind: http, target: %q, interval: 1s, timeout: 500ms, service: perizinan}
  - {name: gateway, kind: tcp, target: %q, interval: 1s, timeout: 500ms}
`, id, collector, id, id, okTarget.URL+"/", strings.TrimPrefix(okTarget.URL, "http://")))
		procs = append(procs, start(t, bin, "probe", "--config", filepath.Join(dir, id+".yaml")))
	}
	from := time.Now().Add(-time.Minute).UTC()
	time.Sleep(8 * time.Second)
	for _, p := range procs {
		p.Process.Signal(syscall.SIGTERM) // each flushes its spool; start's cleanup reaps it
	}
	time.Sleep(7 * time.Second)

	states := [2]string{}
	for i, a := range addrs {
		code, body := get(t, "http://"+a+"/api/v1/probes")
		if code != 200 {
			t.Fatalf("collector %d probes: HTTP %d %s", i, code, body)
		}
		states[i] = body
	}
	var all []probeState
	decodeProbes(t, states[0], &all)
	if len(all) != 3 {
		t.Fatalf("probes: %s", states[0])
	}
	for _, p := range all {
		if p.ResultsStored < 10 || p.ResultsStored != p.LastSeq || p.AckedSeq != p.LastSeq || p.Lost != 0 {
			t.Errorf("probe state %+v: want last_seq = acked = results_stored >= 10, lost 0", p)
		}
	}
	var other []probeState
	decodeProbes(t, states[1], &other)
	if fmt.Sprint(all) != fmt.Sprint(other) {
		t.Errorf("the collectors disagree on probe state:\n%+v\n%+v", all, other)
	}

	q := "level=2&from=" + from.Format(time.RFC3339) + "&to=" + time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	c0, c1 := coverage(t, "http://"+addrs[0], q), coverage(t, "http://"+addrs[1], q)
	if len(c0) != 2 {
		t.Fatalf("coverage from collector 0: %+v", c0)
	}
	for code, f := range c0 {
		g := c1[code]
		if f.Properties.Status != g.Properties.Status || f.Properties.Samples != g.Properties.Samples || f.Properties.Samples == 0 {
			t.Errorf("%s: collector 0 says %+v, collector 1 %+v", code, f.Properties, g.Properties)
		}
		t.Logf("%s: %s, %d samples on both", code, f.Properties.Status, f.Properties.Samples)
	}
}

func decodeProbes(t *testing.T, body string, into *[]probeState) {
	t.Helper()
	var v struct{ Probes []probeState }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("probes answer %s: %v", body, err)
	}
	*into = v.Probes
}

func waitUp(t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not up within 15 s", u)
}

// roundRobin is a load balancer that sends each request to the next
// collector in turn.
func roundRobin(t *testing.T, addrs []string) string {
	var n atomic.Uint64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: "http", Host: addrs[n.Add(1)%uint64(len(addrs))]})
	}}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}
