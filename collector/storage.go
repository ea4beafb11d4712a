package collector

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/jangkau/jangkau/collector/evidence"
)

// StorageConfig selects where results are kept: the embedded store in
// data_dir (the default), or InfluxDB when one machine is not enough.
type StorageConfig struct {
	Kind     string         `yaml:"kind"` // embedded (default) or influxdb
	InfluxDB InfluxDBConfig `yaml:"influxdb"`
}

// InfluxDBConfig is storage.influxdb: where the InfluxDB store writes.
type InfluxDBConfig struct {
	// URL of InfluxDB, http or https.
	URL string `yaml:"url"`
	// Token: "user:password" for InfluxDB 1.8, an API token for 2.x and 3.
	Token string `yaml:"token"`
	// Org: the 2.x organisation; 1.8 ignores it.
	Org string `yaml:"org"`
	// Bucket: "database/retention-policy" or "database" (its default policy).
	Bucket string `yaml:"bucket"`
	// Precision of stored times: ms (default), us or ns. Keep it once data
	// exists: a resent result must get the same timestamp to be stored once.
	Precision string `yaml:"precision"`
	// Timeout of each write and small query (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// CollectorID tags the rollup points this collector writes (default:
	// the host name). Give each collector on one database its own.
	CollectorID string `yaml:"collector_id"`
	// ChangePoll: how often, at most, the collector reads the rollup change
	// log to learn other collectors' writes (default 1s): the staleness
	// bound of kept coverage folds for their writes.
	ChangePoll time.Duration `yaml:"change_poll"`
}

var precisions = map[string]time.Duration{"": time.Millisecond, "ms": time.Millisecond, "us": time.Microsecond, "ns": time.Nanosecond}

func (c *StorageConfig) validate() error {
	switch c.Kind {
	case "", "embedded":
		if c.InfluxDB != (InfluxDBConfig{}) {
			return fmt.Errorf("storage.influxdb is set but storage.kind is %q: set kind: influxdb to use it", c.Kind)
		}
		return nil
	case "influxdb":
		return c.InfluxDB.validate()
	}
	return fmt.Errorf("storage.kind %q: embedded or influxdb", c.Kind)
}

func (c *InfluxDBConfig) validate() error {
	if c.URL == "" {
		return fmt.Errorf("storage.influxdb.url is required with storage.kind influxdb")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("storage.influxdb.url %q must be an http or https URL", c.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("storage.influxdb.url %q: no query, fragment or credentials (use token)", c.URL)
	}
	db, rp, _ := strings.Cut(c.Bucket, "/")
	if db == "" || strings.Contains(rp, "/") || strings.HasSuffix(c.Bucket, "/") {
		return fmt.Errorf("storage.influxdb.bucket %q must be \"database/retention-policy\" or \"database\"", c.Bucket)
	}
	if _, ok := precisions[c.Precision]; !ok {
		return fmt.Errorf("storage.influxdb.precision %q: ms, us or ns", c.Precision)
	}
	// As influx.CheckCollectorID, which the store applies again (also to
	// the host name it defaults to): a printable line of at most 64 bytes.
	if id := c.CollectorID; id != "" && (len(id) > 64 || strings.TrimSpace(id) != id || strings.HasSuffix(id, `\`) ||
		strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0) {
		return fmt.Errorf("storage.influxdb.collector_id %q: at most 64 printable bytes, no space at either end, no trailing backslash (or leave it out for the host name)", id)
	}
	if c.ChangePoll < 0 || c.ChangePoll > time.Minute {
		return fmt.Errorf("storage.influxdb.change_poll (%s) must be between 0 (default 1s) and 1m", c.ChangePoll)
	}
	if c.Timeout < 0 || c.Timeout > 5*time.Minute {
		return fmt.Errorf("storage.influxdb.timeout (%s) must be between 0 (default 10s) and 5m", c.Timeout)
	}
	return nil
}

// PrecisionDuration is precision as a duration: the unit the InfluxDB
// store rounds times to.
func (c InfluxDBConfig) PrecisionDuration() time.Duration { return precisions[c.Precision] }

// openEvidence opens data_dir's evidence.db, whichever store keeps the
// results: the evidence layers are small and rarely written, so each
// collector keeps its own file, also beside InfluxDB. Evidence imported
// on one collector is therefore not seen by another that shares its
// InfluxDB.
func openEvidence(cfg *Config) (*evidence.FileStore, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
	}
	return evidence.OpenFile(filepath.Join(cfg.DataDir, evidence.FileName))
}
