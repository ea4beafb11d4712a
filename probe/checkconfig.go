package probe

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// CheckConfig is one check: a kind run against a target every interval.
type CheckConfig struct {
	Name     string        `yaml:"name"`
	Kind     string        `yaml:"kind"`
	Target   string        `yaml:"target"`
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	// Service names the e-service this check measures, if any.
	Service string `yaml:"service,omitempty"`
}

// DefaultCheckConfig holds what a check leaves unset; it is applied after
// decoding because a custom YAML unmarshaler would lose strict decoding.
var DefaultCheckConfig = CheckConfig{Interval: 30 * time.Second, Timeout: 10 * time.Second}

func (c *Config) validateChecks(kinds Kinds) error {
	seen := make(map[string]int, len(c.Checks))
	for i, ch := range c.Checks {
		if ch.Name == "" {
			return fmt.Errorf("checks[%d].name is missing", i)
		}
		if j, dup := seen[ch.Name]; dup {
			return fmt.Errorf("checks[%d].name %q is already used by checks[%d]", i, ch.Name, j)
		}
		seen[ch.Name] = i
		newChecker, ok := kinds[ch.Kind]
		if !ok {
			return fmt.Errorf("checks[%d].kind %q is not one of %s", i, ch.Kind, strings.Join(kinds.names(), ", "))
		}
		switch {
		case ch.Interval <= 0:
			return fmt.Errorf("checks[%d].interval (%s) must be positive", i, ch.Interval)
		case ch.Timeout <= 0:
			return fmt.Errorf("checks[%d].timeout (%s) must be positive", i, ch.Timeout)
		case ch.Timeout >= ch.Interval:
			return fmt.Errorf("checks[%d].timeout (%s) must be shorter than interval (%s)", i, ch.Timeout, ch.Interval)
		}
		// Constructors validate the target; their errors start with the
		// field they blame ("target ...").
		if _, err := newChecker(ch); err != nil {
			return fmt.Errorf("checks[%d].%w", i, err)
		}
	}
	return nil
}

// names lists the kinds in a stable order, for error messages.
func (k Kinds) names() []string {
	return slices.Sorted(maps.Keys(k))
}
