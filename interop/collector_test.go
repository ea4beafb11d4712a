package interop

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/geo/geotest"
)

// The clients' tests share one collector: it loads the 1,552 desa of
// Banten once, and its data are pushed once. Each client reads with a key
// of its own, so one client's requests never count against another's rate
// limit.
var (
	workDir string // made by TestMain, removed after the run
	shared  struct {
		sync.Mutex
		c      *collector
		failed string // why the shared collector could not start
	}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jangkau-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	if c := shared.c; c != nil {
		c.stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// collector is the real jangkau binary serving on 127.0.0.1, with the real
// Banten desa boundaries, and a second loopback origin (page) that serves
// the browser clients' pages, as a map site or Grafana would.
type collector struct {
	base     string            // http://127.0.0.1:PORT
	logPath  string            // its stdout and stderr
	page     *httptest.Server  // the other origin
	partners map[string]string // partner name -> key, one per client
	viewers  map[string]string // viewer name -> key, one per client
	probes   []*probe
	// corsRejected is the collector's complaint when it refused the cors
	// key: then it runs without it, and every cross-origin test fails
	// saying so, while the other clients still show what they see.
	corsRejected string

	cmd      *exec.Cmd
	exited   chan error // cmd.Wait's answer, from the goroutine that owns the process state
	stopFeed chan struct{}
	fed      sync.WaitGroup
}

// Clients that read with their own key.
var (
	partnerNames = []string{"gdal", "qgis", "owslib", "counter"}
	viewerNames  = []string{"maplibre", "grafana", "counter"}
)

// startCollector returns the shared collector, starting it on first use.
func startCollector(t *testing.T) *collector {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the collector binary and real clients; skipped with -short")
	}
	regions := geotest.File(t, "banten-adm4.geojson")
	shared.Lock()
	defer shared.Unlock()
	if shared.failed != "" {
		t.Fatalf("the shared collector did not start: %s", shared.failed)
	}
	if shared.c == nil {
		c, err := newCollector(regions)
		if err != nil {
			shared.failed = err.Error()
			t.Fatalf("start the collector: %v", err)
		}
		shared.c = c
	}
	return shared.c
}

func newCollector(regions string) (*collector, error) {
	bin := filepath.Join(workDir, "jangkau")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/jangkau/jangkau/cmd/jangkau").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	c := &collector{partners: map[string]string{}, viewers: map[string]string{}, logPath: filepath.Join(workDir, "collector.log"),
		stopFeed: make(chan struct{})}
	var err error
	if c.probes, err = fixtureProbes(regions); err != nil {
		return nil, err
	}
	c.page = httptest.NewServer(c.pageHandler())

	var cfg strings.Builder
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c.base = "http://" + addr
	fmt.Fprintf(&cfg, "listen: %s\ndata_dir: ./data\nregions: {file: %q}\nviewers:\n", addr, regions)
	for _, name := range viewerNames {
		key := randomKey()
		c.viewers[name] = key
		fmt.Fprintf(&cfg, "  - {name: %s, key_sha256: %q}\n", name, sha(key))
	}
	cfg.WriteString("partners:\n")
	for _, name := range partnerNames {
		// The partner's entry as `jangkau partner-key` prints it, as the
		// docs tell an operator to make one.
		out, err := exec.Command(bin, "partner-key", name).Output()
		if err != nil {
			return nil, fmt.Errorf("jangkau partner-key %s: %w", name, err)
		}
		key, entry, ok := strings.Cut(string(out), "\npartners:\n")
		if !ok || !strings.HasPrefix(key, "key: ") {
			return nil, fmt.Errorf("jangkau partner-key %s printed %q, not a key and a partners: entry", name, out)
		}
		c.partners[name] = strings.TrimSpace(strings.TrimPrefix(key, "key: "))
		cfg.WriteString(entry)
	}
	cfg.WriteString("probes:\n")
	for _, p := range c.probes {
		place := fmt.Sprintf("location: {lat: %f, lon: %f}", p.lat, p.lon)
		if p.byCode {
			place = fmt.Sprintf("region: %q", p.desa)
		}
		fmt.Fprintf(&cfg, "  - {id: %s, token_sha256: %q, carrier: %s, %s}\n", p.id, sha(p.token), p.carrier, place)
	}
	withCORS := cfg.String() + fmt.Sprintf("cors: {allowed_origins: [%q]}\n", c.page.URL)

	if err := c.run(bin, withCORS); err != nil {
		complaint := c.logLine("cors")
		if complaint == "" {
			return nil, err
		}
		c.corsRejected = complaint
		if err := c.run(bin, cfg.String()); err != nil {
			return nil, err
		}
	}
	if err := c.feed(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// run starts the collector with the config and waits until it answers.
func (c *collector) run(bin, config string) error {
	dir := filepath.Join(workDir, "collector")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return err
	}
	logf, err := os.Create(c.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "collector", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("the collector exited before it served (%v): %s", err, c.logTail(20))
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("the collector did not answer /healthz within 90 s: %s", c.logTail(20))
		case <-time.After(200 * time.Millisecond):
		}
		if resp, err := http.Get(c.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				c.cmd, c.exited = cmd, exited
				return nil
			}
		}
	}
}

// stop ends the feed, then the collector with SIGTERM as systemd would,
// then the page server.
func (c *collector) stop() {
	close(c.stopFeed)
	c.fed.Wait()
	if c.cmd != nil {
		// Wait's goroutine owns the process state: wait for its word, not
		// for the state.
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	}
	c.page.Close()
}

// logLine returns the first line of the collector's log that mentions s.
func (c *collector) logLine(s string) string {
	data, _ := os.ReadFile(c.logPath)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

func (c *collector) logTail(n int) string {
	data, _ := os.ReadFile(c.logPath)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exportStatusRE finds the status of each export request in the audit
// lines the collector logs (slog text: status=429).
var exportStatusRE = regexp.MustCompile(`msg=export partner=(\S+) .*? status=(\d+)`)

// refusals counts the export requests of a partner that got status code.
func (c *collector) refusals(partner string, code int) int {
	f, err := os.Open(c.logPath)
	if err != nil {
		return -1
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := exportStatusRE.FindStringSubmatch(sc.Text()); m != nil && m[1] == partner && m[2] == fmt.Sprint(code) {
			n++
		}
	}
	return n
}

// get fetches path with a key as a bearer token and decodes JSON into v.
func (c *collector) get(path, key string, v any) error {
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := politeDo(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// collections lists the OGC collection ids, as the partner counter sees them.
func (c *collector) collections(t *testing.T) []string {
	t.Helper()
	var cols struct{ Collections []struct{ ID string } }
	if err := c.get("/ogc/collections", c.partners["counter"], &cols); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, col := range cols.Collections {
		ids = append(ids, col.ID)
	}
	if len(ids) == 0 {
		t.Fatal("the collector lists no OGC collection")
	}
	return ids
}

// ogcFeatures pages through a collection with the counter partner's key
// (Go's client, not the one under test) and returns every feature's
// properties: what the API says the collection holds.
func (c *collector) ogcFeatures(t *testing.T, id, query string) []map[string]any {
	t.Helper()
	var out []map[string]any
	next := "/ogc/collections/" + id + "/items?limit=1000"
	if query != "" {
		next += "&" + query
	}
	for next != "" {
		var page struct {
			Features []struct{ Properties map[string]any }
			Links    []struct{ Href, Rel string }
		}
		if err := c.get(next, c.partners["counter"], &page); err != nil {
			t.Fatalf("count collection %s: %v", id, err)
		}
		for _, f := range page.Features {
			out = append(out, f.Properties)
		}
		next = ""
		for _, l := range page.Links {
			if l.Rel == "next" {
				next = strings.TrimPrefix(l.Href, c.base)
			}
		}
		if len(out) > 100000 {
			t.Fatalf("collection %s: more than 100000 features, next links loop?", id)
		}
	}
	return out
}

// politeDo is the tests' own HTTP client (not a client under test): it
// waits out a 429 as its Retry-After says, a few times, so that counting
// what the API holds never fails on the rate limit the clients are tested
// against.
func politeDo(req *http.Request) (*http.Response, error) {
	for i := 0; ; i++ {
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || i == 5 {
			return resp, err
		}
		resp.Body.Close()
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(wait, 1)) * time.Second)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
