package probe

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/internal/strictyaml"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"go.yaml.in/yaml/v3"
)

// Config is the probe's configuration file. Durations are Go durations
// ("5s", "1m30s"); a bare number is an error, not nanoseconds.
type Config struct {
	// ID names this probe to the collector: [A-Za-z0-9._-]+.
	ID string `yaml:"id"`
	// Collector is the base http or https URL of the collector.
	Collector string `yaml:"collector"`
	// Token and TokenFile: exactly one of them. A token file's content is
	// trimmed of surrounding white space.
	Token     string `yaml:"token,omitempty"`
	TokenFile string `yaml:"token_file,omitempty"`
	// CAFile is an optional PEM bundle that verifies an https collector
	// instead of the system roots.
	CAFile string `yaml:"ca_file,omitempty"`
	// Location, when set, is attached to every result that has no fresh
	// gps fix.
	Location *wire.Location `yaml:"location,omitempty"`
	// GPSD, when set, is the host:port of a gpsd (survey mode): each
	// result takes the latest fix's position, if it is at most 10 s old,
	// and Location otherwise.
	GPSD        string                  `yaml:"gpsd,omitempty"`
	Spool       spool.Config            `yaml:"spool"`
	Upload      UploadConfig            `yaml:"upload"`
	Concurrency int                     `yaml:"concurrency"`
	Checks      []checkspec.CheckConfig `yaml:"checks"`
	// MetricsListen, when set, is where the probe serves its /metrics.
	MetricsListen string `yaml:"metrics_listen,omitempty"`
	// Allow bounds what any check may target; see AllowConfig.
	Allow AllowConfig `yaml:"allow"`
	// Catalogue is the list of checks the collector hands out.
	Catalogue CatalogueConfig `yaml:"catalogue"`

	// token is the content of TokenFile, read at load.
	token string
}

// UploadConfig tunes how results are sent to the collector.
type UploadConfig struct {
	// Interval is the longest a new result waits before it is sent, and
	// the shortest time between two batches when there is no backlog.
	Interval  time.Duration `yaml:"interval"`
	BatchSize int           `yaml:"batch_size"`
	Timeout   time.Duration `yaml:"timeout"`
}

// DefaultConfig holds the values a config file starts from.
var DefaultConfig = Config{
	Spool:       spool.Config{MaxBytes: 256 << 20, MaxAge: 30 * 24 * time.Hour, SyncInterval: spool.DefaultGroupDelay},
	Upload:      UploadConfig{Interval: 5 * time.Second, BatchSize: 1000, Timeout: 30 * time.Second},
	Concurrency: 32,
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// LoadConfig reads and validates the config file at path; relative paths
// in it are relative to its directory.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	cfg, err := ParseConfig(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes a config strictly (unknown keys are errors), applies
// defaults, resolves token_file, ca_file and spool.dir against baseDir,
// reads the token file and validates the result.
func ParseConfig(data []byte, baseDir string) (*Config, error) {
	cfg := DefaultConfig
	if err := strictyaml.Decode(data, &cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("config is empty")
		}
		return nil, err
	}
	if err := refuseZeroDurations(data); err != nil {
		return nil, err
	}
	for i := range cfg.Checks {
		cfg.Checks[i].ApplyDefaults()
	}
	resolve := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(baseDir, p)
	}
	cfg.TokenFile = resolve(cfg.TokenFile)
	cfg.CAFile = resolve(cfg.CAFile)
	if cfg.Spool.Dir == "" && idRE.MatchString(cfg.ID) {
		cfg.Spool.Dir = "jangkau-spool-" + cfg.ID
	}
	cfg.Spool.Dir = resolve(cfg.Spool.Dir)
	for i := range cfg.Checks {
		cfg.Checks[i].ResolvePaths(resolve)
	}
	if cfg.TokenFile != "" && cfg.Token == "" {
		b, err := checkspec.ReadFile("token_file", cfg.TokenFile)
		if err != nil {
			return nil, err
		}
		cfg.token = strings.TrimSpace(string(b))
		if err := checkToken(cfg.token); err != nil {
			return nil, fmt.Errorf("token_file %q %w", cfg.TokenFile, err)
		}
	}
	if cfg.Token != "" {
		if err := checkToken(cfg.Token); err != nil {
			return nil, fmt.Errorf("token %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// tokenForm is how a token file should look, for the errors of checkToken.
const tokenForm = "it must hold the token alone on one line, as `jangkau token --out FILE` writes it (48 hex digits such as 4de0cbb6…)"

// checkToken refuses a token that cannot be what the collector was given:
// empty, several words or lines (the whole output of `jangkau token`), or
// characters an HTTP header cannot carry. Its errors never show the token.
func checkToken(tok string) error {
	switch {
	case tok == "":
		return fmt.Errorf("is empty; %s", tokenForm)
	case strings.HasPrefix(tok, "token:") || strings.Contains(tok, "token_sha256"):
		return fmt.Errorf("holds the labelled output of `jangkau token` (token: …, token_sha256: …), not the token alone; %s", tokenForm)
	case strings.ContainsAny(tok, "\r\n"):
		return fmt.Errorf("holds %d lines; %s", strings.Count(tok, "\n")+1, tokenForm)
	case strings.ContainsAny(tok, " \t"):
		return fmt.Errorf("holds %d words; %s", len(strings.Fields(tok)), tokenForm)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 0x21 || tok[i] > 0x7e {
			return fmt.Errorf("holds a character an HTTP header cannot carry (byte %d is 0x%02x); %s", i+1, tok[i], tokenForm)
		}
	}
	return nil
}

// MinCheckInterval is the shortest interval a check may have.
const MinCheckInterval = time.Second

// refuseZeroDurations refuses an interval or timeout written as 0 in a
// check: once decoded it is indistinguishable from an unset one, which
// takes the default, so "interval: 0s" would silently become 30s.
func refuseZeroDurations(data []byte) error {
	var doc struct {
		Checks []struct {
			Interval *time.Duration `yaml:"interval"`
			Timeout  *time.Duration `yaml:"timeout"`
		} `yaml:"checks"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil // strictyaml.Decode has accepted it; nothing to add
	}
	for i, c := range doc.Checks {
		if c.Interval != nil && *c.Interval < MinCheckInterval {
			return fmt.Errorf("checks[%d].interval (%s) is below the floor of %s; write a duration such as 30s, or leave it out for %s", i, *c.Interval, MinCheckInterval, checkspec.DefaultCheckConfig.Interval)
		}
		if c.Timeout != nil && *c.Timeout <= 0 {
			return fmt.Errorf("checks[%d].timeout (%s) must be positive; write a duration such as 5s, or leave it out for %s", i, *c.Timeout, checkspec.DefaultCheckConfig.Timeout)
		}
	}
	return nil
}

// spoolDirError adds what to do to an error opening the spool when the
// directory may not be written: under deploy/jangkau-probe.service
// (ProtectSystem=strict) only /var/lib/jangkau is writable.
func spoolDirError(dir string, err error) error {
	if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
		return err
	}
	return fmt.Errorf("spool.dir %s may not be written by this user: %w; under the systemd unit (deploy/jangkau-probe.service) only /var/lib/jangkau is writable: set spool: {dir: /var/lib/jangkau/spool}", dir, err)
}

// BearerToken is the token the probe presents to the collector.
func (c *Config) BearerToken() string {
	if c.Token != "" {
		return c.Token
	}
	return c.token
}

// Validate checks every field and the relations between them. A Config
// built in code should pass it before it is given to New.
func (c *Config) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("id is missing")
	case !idRE.MatchString(c.ID):
		return fmt.Errorf("id %q may only contain A-Z a-z 0-9 . _ -", c.ID)
	}
	u, err := url.Parse(c.Collector)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("collector %q must be an http or https URL", c.Collector)
	}
	switch {
	case c.Token != "" && c.TokenFile != "":
		return errors.New("token and token_file are both set; use one")
	case c.Token == "" && c.TokenFile == "":
		return errors.New("one of token or token_file is required")
	}
	if l := c.Location; l != nil {
		if l.Lat < -90 || l.Lat > 90 {
			return fmt.Errorf("location.lat (%g) must be within -90..90", l.Lat)
		}
		if l.Lon < -180 || l.Lon > 180 {
			return fmt.Errorf("location.lon (%g) must be within -180..180", l.Lon)
		}
	}
	if c.GPSD != "" {
		host, port, err := net.SplitHostPort(c.GPSD)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return fmt.Errorf("gpsd %q must be host:port with a port in 1..65535, e.g. 127.0.0.1:2947", c.GPSD)
		}
	}
	switch {
	case c.Upload.Interval <= 0:
		return fmt.Errorf("upload.interval (%s) must be positive", c.Upload.Interval)
	case c.Upload.Timeout <= 0:
		return fmt.Errorf("upload.timeout (%s) must be positive", c.Upload.Timeout)
	case c.Upload.BatchSize <= 0:
		return fmt.Errorf("upload.batch_size (%d) must be positive", c.Upload.BatchSize)
	case c.Concurrency <= 0:
		return fmt.Errorf("concurrency (%d) must be positive", c.Concurrency)
	}
	if err := c.Spool.Validate(); err != nil {
		return err
	}
	if err := c.Allow.validate(); err != nil {
		return err
	}
	if err := c.Catalogue.validate(); err != nil {
		return err
	}
	if len(c.Checks) == 0 && !c.Catalogue.Enabled() {
		return errors.New("checks: none configured, and no catalogue from the collector")
	}
	if err := c.validateChecks(); err != nil {
		return err
	}
	return c.Allow.admitLocal(c.Checks)
}

// validateChecks validates each check with checkspec, and that their
// names are unique; errors blame checks[i].
func (c *Config) validateChecks() error {
	seen := make(map[string]int, len(c.Checks))
	for i, ch := range c.Checks {
		at := fmt.Sprintf("checks[%d]", i)
		if j, dup := seen[ch.Name]; dup {
			return &checkspec.FieldError{Field: at + ".name", Value: ch.Name, Reason: fmt.Sprintf("is already used by checks[%d]", j)}
		}
		if err := ch.Validate(); err != nil {
			return checkspec.Under(at, err)
		}
		seen[ch.Name] = i
	}
	return nil
}
