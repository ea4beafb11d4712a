package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// runNames is `jangkau-bench names`: the cardinality attack of issue 14
// (item 13) on the real jangkau binary. One probe sends -names results in
// -requests batches, each result with its own check and e-service name;
// the bench then reports the size of /metrics, the collector's peak
// resident set (VmHWM of /proc/PID/status) and, with -influx, the series
// the InfluxDB store made (SHOW SERIES EXACT CARDINALITY, in a database of
// its own on the InfluxDB of JANGKAU_INFLUXDB_URL and _TOKEN).
//
//	jangkau-bench names [-bin jangkau] [-names 150000] [-requests 15] [-influx]
//
// -bin is the collector binary (default: built from this module into a
// temp dir); give an older build to measure before a change.
func runNames(args []string) error {
	fs := flag.NewFlagSet("names", flag.ContinueOnError)
	bin := fs.String("bin", "", "jangkau `binary` to run as the collector (default: go build ./cmd/jangkau)")
	names := fs.Int("names", 150_000, "results, each with its own check and e-service name")
	requests := fs.Int("requests", 15, "batches they are sent in")
	useInflux := fs.Bool("influx", false, "store in InfluxDB (JANGKAU_INFLUXDB_URL, _TOKEN) and count its series")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ix *influxEnv
	if *useInflux {
		ix = &influxEnv{url: os.Getenv("JANGKAU_INFLUXDB_URL"), token: os.Getenv("JANGKAU_INFLUXDB_TOKEN")}
		if ix.url == "" {
			return fmt.Errorf(`no InfluxDB: run eval "$(bash scripts/influxdb.sh start)" first`)
		}
	}
	c, err := startBinCollector(*bin, ix)
	if err != nil {
		return err
	}
	defer c.stop()
	per := (*names + *requests - 1) / *requests
	t0 := time.Now().Add(-5 * time.Minute) // inside the 15-minute window of /metrics
	for b, seq := 0, 1; seq <= *names; b++ {
		n := min(per, *names-seq+1)
		rs := make([]wire.Result, n)
		for i := range rs {
			s := seq + i
			rs[i] = wire.Result{Seq: uint64(s), Time: t0.Add(time.Duration(s) * time.Millisecond), Kind: wire.KindTCP,
				Target: "127.0.0.1:9", OK: true, DurationMS: 1,
				Check: fmt.Sprintf("chk-%07d", s), Service: fmt.Sprintf("svc-%07d", s)}
		}
		code, body, err := c.post(mustGzip(wire.Batch{Probe: "p1", Results: rs}))
		if err != nil || code != 200 {
			return fmt.Errorf("batch %d: %d %s %v", b, code, clipOut(body), err)
		}
		seq += n
	}
	fmt.Printf("names: %d results with distinct check and service names in %d requests\n", *names, *requests)
	// Scraped three times: the first may time out computing coverage
	// (the collector logs it) while its cache fills.
	for i := range 3 {
		start := time.Now()
		resp, err := http.Get(c.url + "/metrics")
		if err != nil {
			return err
		}
		metrics, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Printf("/metrics scrape %d: %.2f MB in %s, %d lines with svc-\n", i+1, float64(len(metrics))/1e6,
			time.Since(start).Round(time.Millisecond), bytes.Count(metrics, []byte("svc-")))
	}
	st := procStatus(c.cmd.Process.Pid)
	fmt.Printf("collector VmHWM: %.1f MB, VmRSS %.1f MB\n", kb(st["VmHWM"]), kb(st["VmRSS"]))
	if ix != nil {
		series, err := ix.cardinality(c.db)
		if err != nil {
			return err
		}
		fmt.Printf("InfluxDB series of jangkau_result: %s\n", series)
	}
	return nil
}

// runBigString is `jangkau-bench bigstring`: item 14's memory attack on
// the real binary. -concurrent requests at once, each a gzip batch of
// about 31 KB that expands to one 31 MiB string; reports the answers and
// the collector's VmHWM.
//
//	jangkau-bench bigstring [-bin jangkau] [-concurrent 40]
func runBigString(args []string) error {
	fs := flag.NewFlagSet("bigstring", flag.ContinueOnError)
	bin := fs.String("bin", "", "jangkau `binary` to run as the collector (default: go build ./cmd/jangkau)")
	conc := fs.Int("concurrent", 40, "requests at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := startBinCollector(*bin, nil)
	if err != nil {
		return err
	}
	defer c.stop()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	fmt.Fprintf(zw, `{"probe":"p1","results":[{"seq":1,"time":%q,"check":"c","kind":"tcp","target":"127.0.0.1:9","ok":false,"duration_ms":1,"error":"`,
		time.Now().UTC().Format(time.RFC3339))
	zw.Write(bytes.Repeat([]byte("A"), 31<<20))
	zw.Write([]byte(`"}]}`))
	zw.Close()
	body := buf.Bytes()
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range *conc {
		wg.Go(func() {
			code, _, err := c.post(body)
			if err != nil {
				code = 0
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	st := procStatus(c.cmd.Process.Pid)
	fmt.Printf("bigstring: %d requests of %d gzip bytes (31 MiB string each) at once; answers %v\n", *conc, len(body), codes)
	fmt.Printf("collector VmHWM: %.1f MB\n", kb(st["VmHWM"]))
	return nil
}

// binCollector is the jangkau binary running as a collector, with one
// probe (p1) and public reads.
type binCollector struct {
	cmd *exec.Cmd
	url string
	dir string
	db  string // the InfluxDB database, with -influx
}

const namesToken = "bench-names-token"

func startBinCollector(bin string, ix *influxEnv) (*binCollector, error) {
	dir, err := os.MkdirTemp("", "jangkau-bench-names-")
	if err != nil {
		return nil, err
	}
	c := &binCollector{dir: dir}
	if bin == "" {
		if bin, err = buildJangkau(context.Background(), dir); err != nil {
			return nil, err
		}
	}
	regions := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kode":"99.01","nama":"Bench"},` +
		`"geometry":{"type":"Polygon","coordinates":[[[106,-6.5],[106.5,-6.5],[106.5,-6],[106,-6],[106,-6.5]]]}}]}`
	if err := os.WriteFile(filepath.Join(dir, "regions.geojson"), []byte(regions), 0o644); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(namesToken))
	cfg := fmt.Sprintf(`listen: %q
data_dir: data
public_read: true
regions: {file: regions.geojson}
probes: [{id: p1, token_sha256: %q, region: "99.01"}]
limits: {probe_requests_per_second: 1000, probe_burst: 1000}
`, addr, hex.EncodeToString(sum[:]))
	if ix != nil {
		c.db = fmt.Sprintf("jangkau_bench_names_%d", time.Now().UnixNano())
		if _, err := ix.query("CREATE DATABASE " + c.db); err != nil {
			return nil, err
		}
		cfg += fmt.Sprintf("storage: {kind: influxdb, influxdb: {url: %q, token: %q, bucket: %q}}\n", ix.url, ix.token, c.db+"/autogen")
	}
	if err := os.WriteFile(filepath.Join(dir, "collector.yaml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	c.cmd = exec.Command(bin, "collector", "--config", filepath.Join(dir, "collector.yaml"), "--log-level", "warn")
	c.cmd.Stderr = os.Stderr
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	c.url = "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(c.url + "/healthz"); err == nil {
			resp.Body.Close()
			return c, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("collector did not answer /healthz on %s", addr)
		}
	}
}

func (c *binCollector) post(body []byte) (int, string, error) {
	req, _ := http.NewRequest("POST", c.url+"/api/v1/ingest", bytes.NewReader(body))
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+namesToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (c *binCollector) stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(os.Interrupt)
		c.cmd.Wait()
	}
	os.RemoveAll(c.dir)
}

func mustGzip(v any) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		panic(err)
	}
	zw.Close()
	return buf.Bytes()
}

func clipOut(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// query runs one InfluxQL statement through /query and returns the body.
func (ix *influxEnv) query(q string) (string, error) {
	user, pass, _ := strings.Cut(ix.token, ":")
	req, _ := http.NewRequest("POST", ix.url+"/query", strings.NewReader(url.Values{"q": {q}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || strings.Contains(string(b), `"error"`) {
		return "", fmt.Errorf("influx %q: %d %s %v", q, resp.StatusCode, b, err)
	}
	return string(b), nil
}

// cardinality is the exact series count of jangkau_result in db.
func (ix *influxEnv) cardinality(db string) (string, error) {
	out, err := ix.query(fmt.Sprintf(`SHOW SERIES EXACT CARDINALITY ON %s FROM jangkau_result`, db))
	if err != nil {
		return "", err
	}
	var r struct {
		Results []struct {
			Series []struct{ Values [][]any }
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Results) == 0 || len(r.Results[0].Series) == 0 {
		return out, nil
	}
	return fmt.Sprint(r.Results[0].Series[0].Values[0]...), nil
}
