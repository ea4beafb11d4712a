package checkspec

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// CheckConfig is one check: a kind run against a target every interval.
// The options of a kind sit in a block named after it (blackbox_exporter
// modules, but inline); a block for another kind is an error, so a typo
// in kind cannot silently drop options.
type CheckConfig struct {
	Name     string        `yaml:"name"`
	Kind     string        `yaml:"kind"`
	Target   string        `yaml:"target"`
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	// Service names the e-service this check measures, if any.
	Service string `yaml:"service,omitempty"`

	HTTP *HTTPOptions `yaml:"http,omitempty"`
	TCP  *TCPOptions  `yaml:"tcp,omitempty"`
	ICMP *ICMPOptions `yaml:"icmp,omitempty"`
	DNS  *DNSOptions  `yaml:"dns,omitempty"`
}

// DefaultCheckConfig holds what a check leaves unset; it is applied after
// decoding because a custom YAML unmarshaler would lose strict decoding.
// The defaults of the kind blocks are applied by each kind's constructor,
// for the same reason.
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
		for _, block := range ch.blocks() {
			if block != ch.Kind {
				return fmt.Errorf("checks[%d].%s is set but kind is %q", i, block, ch.Kind)
			}
		}
		// Constructors validate the target and their block, compiling it;
		// their errors start with the field they blame ("target ...",
		// "http.valid_status_codes[0] ...").
		if _, err := newChecker(ch); err != nil {
			return fmt.Errorf("checks[%d].%w", i, err)
		}
	}
	return nil
}

// blocks names the kind blocks that are set.
func (cc *CheckConfig) blocks() []string {
	var b []string
	if cc.HTTP != nil {
		b = append(b, wire.KindHTTP)
	}
	if cc.TCP != nil {
		b = append(b, wire.KindTCP)
	}
	if cc.ICMP != nil {
		b = append(b, wire.KindICMP)
	}
	if cc.DNS != nil {
		b = append(b, wire.KindDNS)
	}
	return b
}

// ResolvePaths makes the file names in the kind blocks (the TLS ca_file)
// relative to the config file's directory, as the probe's own ca_file
// is. ParseConfig calls it with its resolver before validation.
func (cc *CheckConfig) ResolvePaths(resolve func(string) string) {
	if cc.HTTP != nil {
		cc.HTTP.TLS.resolvePaths(resolve)
	}
	if cc.TCP != nil {
		cc.TCP.TLSConfig.resolvePaths(resolve)
	}
}

// compileAll compiles regular expressions at load, naming the bad one.
func compileAll(field string, exprs []string) ([]*regexp.Regexp, error) {
	res := make([]*regexp.Regexp, len(exprs))
	for i, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("%s[%d] (%q): %w", field, i, e, err)
		}
		res[i] = re
	}
	return res, nil
}

// names lists the kinds in a stable order, for error messages.
func (k Kinds) names() []string {
	return slices.Sorted(maps.Keys(k))
}
