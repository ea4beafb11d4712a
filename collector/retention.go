package collector

import (
	"fmt"
	"log/slog"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jangkau/jangkau/collector/store/embedded"
)

// RetentionConfig says how long raw results and rollups are kept; 0 keeps
// them forever.
type RetentionConfig struct {
	// Raw results: partner exports and audits read them.
	Raw time.Duration `yaml:"raw"`
	// Minute rows: the edges of windows and the detail of outages.
	Minute time.Duration `yaml:"minute"`
	// Hour rows: every long window; small enough to keep for years.
	Hour time.Duration `yaml:"hour"`
}

// DefaultRetentionConfig keeps raw results 30 days (a month of partner
// exports and audits, and longer than a probe's own spool keeps them),
// minute rows 14 days (two weeks of outage detail at the minute) and hour
// rows forever (about 260 bytes per cell-hour as measured by jangkau-bench
// coverage: a year of 2,000 probes with 5 checks each, 10,000 cells, is
// about 23 GB).
var DefaultRetentionConfig = RetentionConfig{Raw: 30 * 24 * time.Hour, Minute: 14 * 24 * time.Hour}

// minRetention is the shortest retention that is not forever: a window's
// edges are read from minute rows, and the current hour from them alone.
const minRetention = time.Hour

// UnmarshalYAML reads durations like 720h, and a bare 0 for forever (YAML
// decodes a plain 0 as an integer, not a duration). Keys that are absent
// keep their defaults; unknown keys are errors.
func (c *RetentionConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: retention must be a mapping of raw, minute and hour", n.Line)
	}
	fields := map[string]*time.Duration{"raw": &c.Raw, "minute": &c.Minute, "hour": &c.Hour}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		dst, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("line %d: field %s not found in type collector.RetentionConfig", k.Line, k.Value)
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: retention.%s must be a duration like 720h, or 0", v.Line, k.Value)
		}
		if v.Value == "0" {
			*dst = 0
			continue
		}
		d, err := time.ParseDuration(v.Value)
		if err != nil {
			return fmt.Errorf("line %d: retention.%s %q must be a duration like 720h, or 0", v.Line, k.Value, v.Value)
		}
		*dst = d
	}
	return nil
}

func (c *RetentionConfig) validate() error {
	for _, f := range []struct {
		key string
		d   time.Duration
	}{{"raw", c.Raw}, {"minute", c.Minute}, {"hour", c.Hour}} {
		if f.d < 0 || (f.d != 0 && f.d < minRetention) {
			return fmt.Errorf("retention.%s (%s) must be 0 (keep forever) or at least %s", f.key, f.d, minRetention)
		}
	}
	// A window inside the hour rows' reach but past the minute rows' is
	// read from hour rows; the other way round it would lose its middle.
	if c.Hour != 0 && (c.Minute == 0 || c.Hour < c.Minute) {
		minute := "forever"
		if c.Minute != 0 {
			minute = c.Minute.String()
		}
		return fmt.Errorf("retention.hour (%s) must be 0 (keep forever) or at least retention.minute (%s)", c.Hour, minute)
	}
	return nil
}

// StoreOption is what the embedded store needs to apply the retention:
// it prunes at open and then every hour.
func (c RetentionConfig) StoreOption(log *slog.Logger) embedded.Option {
	return embedded.WithRetention(embedded.Retention{Raw: c.Raw, Minute: c.Minute, Hour: c.Hour, Log: log})
}
