package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// blackboxConfig has one module per kind, with the same timeout as the
// jangkau checks; icmp sends one packet, its only mode.
func blackboxConfig(timeout time.Duration) string {
	return fmt.Sprintf(`modules:
  http:
    prober: http
    timeout: %[1]s
    http:
      preferred_ip_protocol: ip4
  icmp:
    prober: icmp
    timeout: %[1]s
    icmp:
      preferred_ip_protocol: ip4
`, timeout)
}

// blackboxVersion is the first line of --version.
func blackboxVersion(bin string) string {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

// scrape is one target the scraper asks the exporter about.
type scrape struct {
	module, target string
	index          int
	isHTTP         bool
}

// runBlackbox runs one phase: the exporter process, driven by a scraper
// in the bench that asks for each target once per interval, the targets
// spread evenly across the interval.
func runBlackbox(ctx context.Context, ph phase, ts *targetServer, o options, dir string) (phaseResult, error) {
	res := phaseResult{tool: "blackbox", phase: ph.name}
	dir = filepath.Join(dir, "blackbox-"+ph.name)
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	if err := mkWrite(dir, "blackbox.yml", blackboxConfig(o.checkTimeout(ph))); err != nil {
		return res, err
	}
	bb, err := startProc(o.blackbox, filepath.Join(dir, "blackbox.log"), o.env,
		"--config.file="+filepath.Join(dir, "blackbox.yml"), "--web.listen-address="+addr, "--log.level=warn")
	if err != nil {
		return res, err
	}
	defer bb.stop(10 * time.Second)
	if err := waitHTTP(ctx, "http://"+addr+"/metrics", 10*time.Second, bb); err != nil {
		return res, err
	}
	var targets []scrape
	for i := range ph.http {
		targets = append(targets, scrape{module: "http", target: ts.url(i), index: i, isHTTP: true})
	}
	for i := range ph.icmp {
		targets = append(targets, scrape{module: "icmp", target: icmpTarget(i), index: i})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: o.checkTimeout(ph) + time.Second}
	defer client.CloseIdleConnections()
	ts.takeHits(ctx)
	w, err := startWindow(bb.pid(), 0)
	if err != nil {
		return res, err
	}
	var mu sync.Mutex
	var reps []reported
	var rtt []float64
	var wg sync.WaitGroup
	t0 := time.Now()
	nonce := 0
	for k := 0; ; k++ {
		stop := false
		for j, sc := range targets {
			at := t0.Add(time.Duration(k)*ph.interval + time.Duration(j)*ph.interval/time.Duration(len(targets)))
			if at.Sub(t0) >= o.window(ph) {
				stop = true
				break
			}
			time.Sleep(time.Until(at))
			nonce++
			n := strconv.Itoa(nonce)
			wg.Go(func() {
				m, err := bbProbe(ctx, client, addr, sc, n)
				if err != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if _, answered := m["probe_success"]; !answered {
					return
				}
				res.checks++
				if m["probe_success"] != 1 {
					return
				}
				res.ok++
				if sc.isHTTP {
					reps = append(reps, reported{target: sc.index, nonce: n,
						processing: m[`probe_http_duration_seconds{phase="processing"}`] * 1e3, total: m["probe_duration_seconds"] * 1e3})
				} else {
					rtt = append(rtt, m[`probe_icmp_duration_seconds{phase="rtt"}`]*1e3)
				}
			})
		}
		if stop {
			break
		}
	}
	wg.Wait()
	if err := w.end(&res); err != nil {
		return res, err
	}
	hits, err := ts.takeHits(ctx)
	if err != nil {
		return res, err
	}
	res.procErr, res.totErr, res.truth, res.matched = latencyError(reps, hits)
	res.rttMS = mean(rtt)
	return res, nil
}

// bbProbe asks the exporter for one probe and returns its samples by
// name (with labels as printed).
func bbProbe(ctx context.Context, c *http.Client, addr string, sc scrape, nonce string) (map[string]float64, error) {
	target := sc.target
	if sc.isHTTP {
		target += "?n=" + nonce
	}
	q := url.Values{"module": {sc.module}, "target": {target}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/probe?"+q.Encode(), nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "3")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[sp+1:], 64); err == nil {
			m[line[:sp]] = v
		}
	}
	return m, s.Err()
}
