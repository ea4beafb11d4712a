package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jangkau/jangkau/collector"
)

// viewsInflux is the InfluxDB 1.8.10 that scripts/influxdb.sh starts for
// the bench, in a directory and on a port of its own; stop ends it by the
// PID the script wrote.
type viewsInflux struct {
	script string
	env    []string
	url    string
	token  string
	bucket string
}

func startViewsInflux(ctx context.Context, root, dir, influxd string, port int) (*viewsInflux, error) {
	ix := &viewsInflux{script: filepath.Join(root, "scripts", "influxdb.sh")}
	ix.env = append(os.Environ(),
		"JANGKAU_INFLUXDB_DIR="+dir,
		fmt.Sprintf("JANGKAU_INFLUXDB_PORT=%d", port),
		fmt.Sprintf("JANGKAU_INFLUXDB_RPC_PORT=%d", port+2),
		"JANGKAU_INFLUXDB_DB=jangkau", "JANGKAU_INFLUXDB_RP=bench")
	if influxd != "" {
		ix.env = append(ix.env, "JANGKAU_INFLUXD="+influxd)
	}
	cmd := exec.CommandContext(ctx, "bash", ix.script, "start")
	cmd.Env, cmd.Stderr = ix.env, os.Stderr
	out, err := cmd.Output()
	if err != nil {
		// It may have started before failing: stop whatever it wrote a PID for.
		ix.stop()
		return nil, fmt.Errorf("%s start: %w", ix.script, err)
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "JANGKAU_INFLUXDB_URL="); ok {
			ix.url = v
		} else if v, ok := strings.CutPrefix(f, "JANGKAU_INFLUXDB_TOKEN="); ok {
			ix.token = v
		} else if v, ok := strings.CutPrefix(f, "JANGKAU_INFLUXDB_BUCKET="); ok {
			ix.bucket = v
		}
	}
	if ix.url == "" || ix.bucket == "" {
		ix.stop()
		return nil, fmt.Errorf("%s start printed no JANGKAU_INFLUXDB_URL and _BUCKET: %q", ix.script, out)
	}
	return ix, nil
}

func (ix *viewsInflux) stop() {
	cmd := exec.Command("bash", ix.script, "stop")
	cmd.Env, cmd.Stderr = ix.env, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "jangkau-bench: stopping InfluxDB: %v\n", err)
	}
}

// influxdVersion is the module version the binary was built from (a
// build from the module proxy says "vunknown" of itself).
func influxdVersion(ctx context.Context, influxd string) string {
	out, err := exec.CommandContext(ctx, "go", "version", "-m", influxd).Output()
	if err != nil {
		return "influxd " + influxd + ": " + err.Error()
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "mod" {
			return "influxd " + f[1] + " " + f[2]
		}
	}
	return "influxd " + influxd
}

// viewsCollector is one jangkau collector process of the bench.
type viewsCollector struct {
	name string
	cmd  *exec.Cmd
	url  string
	log  *os.File
	wait chan error // Wait's answer, from the goroutine that called it
}

// collectorConfig is the config file of a bench collector: every probe of
// d (token "bench-views-ID"), public reads, limits that let the load
// through, and the storage given. status.silent_after is 3 h (default
// 5 min) so that the probes count as reporting through a load and
// measurement that take longer than 5 min: the statuses then vary with
// availability and latency, as on a live system, instead of all being
// silent; the views fold the same rows either way. On stores reused
// later it grows by the hours since the data set's end, so that a rerun
// sees the statuses of the first run.
func collectorConfig(d *viewsData, regions, dataDir, listen string, storage map[string]any) ([]byte, error) {
	var probes []map[string]any
	for _, p := range d.probes {
		sum := sha256.Sum256([]byte(viewsToken(p.id)))
		probes = append(probes, map[string]any{"id": p.id, "token_sha256": hex.EncodeToString(sum[:]),
			"region": p.cell.Region, "carrier": p.carrier})
	}
	cfg := map[string]any{
		"listen": listen, "data_dir": dataDir, "public_read": true,
		"regions": map[string]any{"file": regions},
		"probes":  probes,
		"limits":  map[string]any{"probe_requests_per_second": 5000, "probe_burst": 5000},
		"status":  map[string]any{"silent_after": (3*time.Hour + time.Since(d.anchor).Truncate(time.Hour)).String()},
	}
	if storage != nil {
		cfg["storage"] = storage
	}
	return yaml.Marshal(cfg)
}

func viewsToken(probe string) string { return "bench-views-" + probe }

// setKey sets the dotted key path (storage.influxdb.collector_id) in cfg.
func setKey(cfg map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		m, ok := cfg[k].(map[string]any)
		if !ok {
			m = map[string]any{}
			cfg[k] = m
		}
		cfg = m
	}
	cfg[keys[len(keys)-1]] = v
}

// keySupported says whether this build's collector config takes key: the
// harness links the same collector package the binary is built from.
func keySupported(key string) (bool, error) {
	cfg := map[string]any{"listen": "127.0.0.1:1", "data_dir": "x", "storage": map[string]any{"kind": "influxdb",
		"influxdb": map[string]any{"url": "http://127.0.0.1:1", "bucket": "db/rp"}}}
	setKey(cfg, key, "bench-probe")
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return false, err
	}
	_, err = collector.ParseConfig(b, os.TempDir())
	if err == nil {
		return true, nil
	}
	last := key[strings.LastIndex(key, ".")+1:]
	if strings.Contains(err.Error(), last) {
		return false, nil
	}
	return false, fmt.Errorf("probing config key %s: %w", key, err)
}

// buildJangkau builds the jangkau binary of this module into dir and
// returns its path: what the commands run when -bin is not given.
func buildJangkau(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "jangkau")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/jangkau/jangkau/cmd/jangkau")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build jangkau: %w", err)
	}
	return bin, nil
}

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startViewsCollector writes cfg to dir/NAME.yaml, starts the binary on
// it and waits for /healthz. Its log goes to dir/NAME.log.
func startViewsCollector(ctx context.Context, bin, dir, name string, cfg func(listen string) ([]byte, error)) (*viewsCollector, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	b, err := cfg(addr)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	c := &viewsCollector{name: name, url: "http://" + addr, log: lf}
	c.cmd = exec.Command(bin, "collector", "--config", path, "--log-level", "warn")
	c.cmd.Stdout, c.cmd.Stderr = lf, lf
	if err := c.cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			lf.Close()
			return nil, fmt.Errorf("collector %s exited (%v); see %s", name, err, lf.Name())
		default:
		}
		if resp, err := http.Get(c.url + "/healthz"); err == nil {
			resp.Body.Close()
			c.wait = exited
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.cmd.Process.Kill()
			<-exited
			lf.Close()
			return nil, fmt.Errorf("collector %s did not answer /healthz on %s; see %s", name, addr, lf.Name())
		}
	}
}

// stop asks the collector to shut down (SIGINT, as the service manager
// does), waits, and kills it after a minute.
func (c *viewsCollector) stop() {
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.wait:
	case <-time.After(time.Minute):
		c.cmd.Process.Kill()
		<-c.wait
	}
	c.log.Close()
}

// post sends one gzip batch of probe as its uploader does.
func (c *viewsCollector) post(ctx context.Context, probe string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/api/v1/ingest", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+viewsToken(probe))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return &httpStatusError{code: resp.StatusCode, msg: fmt.Sprintf("collector %s: ingest of %s: HTTP %d %s", c.name, probe, resp.StatusCode, clipOut(string(b)))}
	}
	return nil
}

// httpStatusError is an answer other than 200 OK.
type httpStatusError struct {
	code int
	msg  string
}

func (e *httpStatusError) Error() string { return e.msg }

// get times one view request and returns its body.
func (c *viewsCollector) get(ctx context.Context, path string) (time.Duration, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+path, nil)
	if err != nil {
		return 0, nil, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("collector %s: GET %s: HTTP %d %s", c.name, path, resp.StatusCode, clipOut(string(b)))
	}
	return took, b, err
}
