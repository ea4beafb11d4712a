package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jangkau/jangkau/wire"
)

const benchToken = "probebench-token"

// regionsJSON is the one region the bench's collector needs.
const regionsJSON = `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kode":"99","nama":"Bench"},` +
	`"geometry":{"type":"Polygon","coordinates":[[[106,-7],[107,-7],[107,-6],[106,-6],[106,-7]]]}}]}`

// jangkauConfig is a probe config with the phase's checks.
func jangkauConfig(ph phase, ts *targetServer, collector, metrics, spool string, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id: bench\ncollector: http://%s\ntoken: %s\nspool: {dir: %s}\nmetrics_listen: %s\nchecks:\n",
		collector, benchToken, spool, metrics)
	every := fmt.Sprintf("interval: %s, timeout: %s", ph.interval, o.checkTimeout(ph))
	for i := range ph.http {
		fmt.Fprintf(&b, "  - {name: h%03d, kind: http, target: %q, %s}\n", i, ts.url(i), every)
	}
	for i := range ph.icmp {
		fmt.Fprintf(&b, "  - {name: i%03d, kind: icmp, target: %s, %s, icmp: {count: 1}}\n", i, icmpTarget(i), every)
	}
	return b.String()
}

func icmpTarget(i int) string { return fmt.Sprintf("127.0.0.%d", 2+i) }

// runJangkau runs one phase with the real binary: a collector process, an
// ingest proxy in the bench (it reads every batch the collector accepts),
// and the probe process, measured over the window.
func runJangkau(ctx context.Context, ph phase, ts *targetServer, o options, dir string) (phaseResult, error) {
	res := phaseResult{tool: "jangkau", phase: ph.name}
	dir = filepath.Join(dir, "jangkau-"+ph.name)
	collAddr, err1 := freeAddr()
	metricsAddr, err2 := freeAddr()
	if err := os.MkdirAll(dir, 0o755); err != nil || err1 != nil || err2 != nil {
		return res, fmt.Errorf("jangkau setup: %v %v %v", err, err1, err2)
	}
	sum := sha256.Sum256([]byte(benchToken))
	ccfg := fmt.Sprintf("listen: %s\ndata_dir: %s\nregions: {file: %s}\npublic_read: true\n"+
		"probes:\n  - {id: bench, token_sha256: %q, region: \"99\"}\n",
		collAddr, filepath.Join(dir, "data"), filepath.Join(dir, "regions.geojson"), hex.EncodeToString(sum[:]))
	if err := writeFiles(dir, map[string]string{"regions.geojson": regionsJSON, "collector.yaml": ccfg}); err != nil {
		return res, err
	}
	coll, err := startProc(o.jangkau, filepath.Join(dir, "collector.log"), nil, "collector", "--config", filepath.Join(dir, "collector.yaml"))
	if err != nil {
		return res, err
	}
	defer coll.stop(10 * time.Second)
	if err := waitHTTP(ctx, "http://"+collAddr+"/api/v1/probes", 10*time.Second, coll); err != nil {
		return res, err
	}
	px, err := newIngestProxy(collAddr)
	if err != nil {
		return res, err
	}
	defer px.close()
	pcfg := jangkauConfig(ph, ts, px.addr, metricsAddr, filepath.Join(dir, "spool"), o)
	if err := writeFiles(dir, map[string]string{"probe.yaml": pcfg}); err != nil {
		return res, err
	}
	ts.takeHits(ctx) // forget earlier phases
	pr, err := startProc(o.jangkauProbe, filepath.Join(dir, "probe.log"), o.env, "probe", "--config", filepath.Join(dir, "probe.yaml"))
	if err != nil {
		return res, err
	}
	defer pr.stop(10 * time.Second)
	metricsURL := "http://" + metricsAddr + "/metrics"
	if err := waitHTTP(ctx, metricsURL, 10*time.Second, pr); err != nil {
		return res, err
	}
	w, err := startWindow(pr.pid(), coll.pid())
	if err != nil {
		return res, err
	}
	c0, ok0, err := probeChecks(ctx, metricsURL)
	if err != nil {
		return res, err
	}
	stopPerf := startPerf(o, dir, pr.pid())
	time.Sleep(o.window(ph))
	stopPerf()
	c1, ok1, err := probeChecks(ctx, metricsURL)
	if err != nil {
		return res, err
	}
	if err := w.end(&res); err != nil {
		return res, err
	}
	res.checks, res.ok = c1-c0, ok1-ok0
	pr.stop(15 * time.Second) // its last flush reaches the collector
	time.Sleep(200 * time.Millisecond)
	hits, err := ts.takeHits(ctx)
	if err != nil {
		return res, err
	}
	var reps []reported
	var rtt []float64
	for _, r := range px.results() {
		switch {
		case r.Kind == wire.KindHTTP && r.OK:
			u, _ := url.Parse(r.Target)
			i, _ := strconv.Atoi(filepath.Base(u.Path))
			reps = append(reps, reported{target: i, start: r.Time.UnixNano(), processing: r.Phases["processing"], total: r.DurationMS})
		case r.Kind == wire.KindICMP && r.OK:
			rtt = append(rtt, r.Phases["rtt_avg"])
		}
	}
	res.procErr, res.totErr, res.truth, res.matched = latencyError(reps, hits)
	res.rttMS = mean(rtt)
	res.stored = len(px.results())
	return res, nil
}

func writeFiles(dir string, files map[string]string) error {
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// probeChecks sums jangkau_probe_checks_total from the probe's /metrics:
// all runs and the successful ones.
func probeChecks(ctx context.Context, url string) (all, ok int, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "jangkau_probe_checks_total{") {
			continue
		}
		v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		all += int(v)
		if strings.Contains(line, `result="success"`) {
			ok += int(v)
		}
	}
	return all, ok, sc.Err()
}

// ingestProxy passes the probe's uploads to the collector untouched and
// keeps the results of every batch the collector answered 200 to.
type ingestProxy struct {
	ln     net.Listener
	addr   string
	target string
	mu     sync.Mutex
	bySeq  map[uint64]wire.Result
}

func newIngestProxy(target string) (*ingestProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	px := &ingestProxy{ln: ln, target: target, bySeq: map[uint64]wire.Result{}}
	go http.Serve(ln, px)
	px.addr = ln.Addr().String()
	return px, nil
}

func (px *ingestProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+px.target+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
	if resp.StatusCode == http.StatusOK && r.Method == http.MethodPost {
		px.keep(body, r.Header.Get("Content-Encoding") == "gzip")
	}
}

func (px *ingestProxy) keep(body []byte, gz bool) {
	var rd io.Reader = bytes.NewReader(body)
	if gz {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return
		}
		rd = zr
	}
	var b wire.Batch
	if json.NewDecoder(rd).Decode(&b) != nil {
		return
	}
	px.mu.Lock()
	for _, r := range b.Results {
		px.bySeq[r.Seq] = r
	}
	px.mu.Unlock()
}

func (px *ingestProxy) results() []wire.Result {
	px.mu.Lock()
	defer px.mu.Unlock()
	rs := make([]wire.Result, 0, len(px.bySeq))
	for _, r := range px.bySeq {
		rs = append(rs, r)
	}
	return rs
}

func (px *ingestProxy) close() { px.ln.Close() }
