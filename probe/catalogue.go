package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/internal/strictyaml"
	"github.com/jangkau/jangkau/probe/check"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	defaultRefresh = 5 * time.Minute
	maxCatalogue   = 4 << 20 // bytes of a catalogue read
)

// CatalogueConfig says whether and how often the probe fetches its checks
// from the collector. It is off by default, so that a probe runs only what
// its operator wrote until they opt in.
type CatalogueConfig struct {
	// Enable turns the catalogue on (key "enabled").
	Enable bool `yaml:"enabled,omitempty"`
	// Refresh is how often the list is fetched again, ±10% so that probes
	// restarted together do not poll together (default 5m).
	Refresh time.Duration `yaml:"refresh,omitempty"`
	// Cache keeps the last good list, so that a probe started while the
	// collector is out of reach runs it. Default catalogue.yaml; a
	// relative path is inside spool.dir.
	Cache string `yaml:"cache,omitempty"`
}

// Enabled reports whether the probe takes checks from the collector.
func (c *CatalogueConfig) Enabled() bool { return c.Enable }

func (c *CatalogueConfig) validate() error {
	if c.Refresh < 0 {
		return fmt.Errorf("catalogue.refresh (%s) must be positive", c.Refresh)
	}
	return nil
}

func (c *CatalogueConfig) refresh() time.Duration {
	if c.Refresh == 0 {
		return defaultRefresh
	}
	return c.Refresh
}

func (c *CatalogueConfig) cachePath(spoolDir string) string {
	p := c.Cache
	if p == "" {
		p = "catalogue.yaml"
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(spoolDir, p)
}

// refusal is a central check that will not be scheduled, and why.
type refusal struct {
	name string
	err  error
}

// decodeCatalogue decodes a body as strictly as the config file. A body
// that does not decode is refused whole; an entry that does not validate
// as a central check (a kind this probe lacks, a file option, an interval
// under the floor) is skipped and named in bad. No entry makes it open a
// file.
func decodeCatalogue(body []byte) (checks []checkspec.CheckConfig, bad []refusal, err error) {
	var doc checkspec.CatalogueDoc
	if err := strictyaml.Decode(body, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("catalogue is empty")
		}
		return nil, nil, fmt.Errorf("catalogue: %w", err)
	}
	seen := map[string]int{}
	for i, cc := range doc.Checks {
		cc.ApplyDefaults()
		at := fmt.Sprintf("checks[%d]", i)
		if j, dup := seen[cc.Name]; dup {
			bad = append(bad, refusal{cc.Name, &checkspec.FieldError{Field: at + ".name", Value: cc.Name, Reason: fmt.Sprintf("is already used by checks[%d]", j)}})
			continue
		}
		if err := cc.ValidateCentral(); err != nil {
			bad = append(bad, refusal{cc.Name, checkspec.Under(at, err)})
			continue
		}
		seen[cc.Name] = i
		checks = append(checks, cc)
	}
	return checks, bad, nil
}

// catalogue is the probe's side of the central check list.
type catalogue struct {
	client  *http.Client
	url     string
	token   string
	cache   string
	refresh time.Duration
	etag    string // of the list applied last; only runCatalogue uses it
	refused *prometheus.CounterVec
	// refusedNow is how many checks of the list applied last were refused.
	refusedNow prometheus.Gauge
	// jitter picks the wait before the next fetch; a seam for tests.
	jitter func(d time.Duration) time.Duration
}

// newCatalogue returns nil when cfg does not enable the catalogue.
func newCatalogue(cfg *Config, reg prometheus.Registerer) (*catalogue, error) {
	if !cfg.Catalogue.Enabled() {
		return nil, nil
	}
	client, err := collectorClient(cfg)
	if err != nil {
		return nil, err
	}
	c := &catalogue{
		client:  client,
		url:     strings.TrimSuffix(cfg.Collector, "/") + checkspec.CataloguePath,
		token:   cfg.BearerToken(),
		cache:   cfg.Catalogue.cachePath(cfg.Spool.Dir),
		refresh: cfg.Catalogue.refresh(),
		jitter:  func(d time.Duration) time.Duration { return d*9/10 + rand.N(d/5+1) },
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jangkau_probe_catalogue_refused_total",
			Help: "Central checks not scheduled because they are outside the allow list or invalid, per list applied.",
		}, []string{"check"}),
		refusedNow: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jangkau_probe_catalogue_refused_checks",
			Help: "Central checks of the list applied last that are not scheduled (invalid, outside the allow list, over a rate floor, or failed to build).",
		}),
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{c.refused, c.refusedNow} {
			if err := reg.Register(col); err != nil {
				return nil, fmt.Errorf("register catalogue metrics: %w", err)
			}
		}
	}
	return c, nil
}

// runCatalogue keeps the scheduled checks in step with the collector's
// catalogue until ctx ends: the cached list first, then a fetch every
// refresh, backing off on failure and keeping the last good list.
func (p *Probe) runCatalogue(ctx context.Context) {
	c := p.cat
	if c == nil {
		return
	}
	defer c.client.CloseIdleConnections()
	if body, err := os.ReadFile(c.cache); err == nil {
		if err := p.applyBody(body, "cache"); err != nil {
			p.log.Warn("catalogue: cached list unusable", "file", c.cache, "err", err)
		} else {
			c.etag = checkspec.CatalogueETag(body)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		p.log.Warn("catalogue: read cache", "err", err)
	}
	failures := 0
	for {
		err := p.refreshCatalogue(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := c.jitter(c.refresh)
		if err != nil {
			failures++
			wait = min(rand.N(backoff(failures)+1), c.refresh)
			p.log.Warn("catalogue: fetch failed; keeping the last good list", "url", c.url, "err", err,
				"failures", failures, "retry_in", wait)
		} else {
			failures = 0
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// refreshCatalogue fetches the list once and, when it changed, caches and
// applies it.
func (p *Probe) refreshCatalogue(ctx context.Context) error {
	c := p.cat
	body, err := c.fetch(ctx)
	if err != nil || body == nil {
		return err
	}
	if err := p.applyBody(body, "collector"); err != nil {
		return err
	}
	c.etag = checkspec.CatalogueETag(body)
	if err := writeFileAtomic(c.cache, body); err != nil {
		p.log.Warn("catalogue: cache not written; a restart without the collector runs only local checks", "err", err)
	}
	return nil
}

// fetch GETs the catalogue; a nil body means not modified.
func (c *catalogue) fetch(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/yaml")
	req.Header.Set("User-Agent", check.UserAgent)
	if c.etag != "" {
		req.Header.Set("If-None-Match", c.etag)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
	}()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return nil, nil
	default:
		return nil, answerError(resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCatalogue+1))
	if err != nil {
		return nil, fmt.Errorf("read catalogue: %w", err)
	}
	if len(body) > maxCatalogue {
		return nil, fmt.Errorf("catalogue larger than %d bytes", maxCatalogue)
	}
	return body, nil
}

// applyBody decodes a catalogue and schedules it beside the local checks.
func (p *Probe) applyBody(body []byte, source string) error {
	central, bad, err := decodeCatalogue(body)
	if err != nil {
		return err
	}
	for _, r := range bad {
		p.log.Warn("catalogue: central check invalid, skipped", "source", source, "check", r.name, "err", r.err)
		p.cat.refused.WithLabelValues(r.name).Inc()
	}
	p.applyCatalogue(central, len(bad), source)
	return nil
}

// collectorClient is the probe's HTTP client for the collector (uploads
// and the catalogue): it verifies the collector against the system roots,
// or against cfg.CAFile when set, and follows no redirect, so that a
// collector (or whatever answers at its address) cannot send the probe's
// token and results to another host.
func collectorClient(cfg *Config) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := checkspec.ReadFile("ca_file", cfg.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: cfg.Upload.Timeout, CheckRedirect: refuseRedirect(cfg.Collector)}, nil
}

// refuseRedirect is a CheckRedirect that follows none: the error names
// where the collector pointed and what to fix.
func refuseRedirect(collector string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		status := "a redirect"
		if req.Response != nil {
			status = req.Response.Status
		}
		return &redirectError{fmt.Sprintf("collector answered %s to %s; the probe follows no redirect: set collector (now %q) to the URL the collector is served at",
			status, req.URL.Redacted(), collector)}
	}
}

// redirectError is a collector's redirect the probe refused: a config
// mistake (or an attack), not a network fault, so not retried quickly.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// writeFileAtomic replaces path with data so that a crash leaves the old
// file or the new one, never a torn one: temp file, fsync, rename, fsync
// of the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
