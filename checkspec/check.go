package checkspec

import (
	"fmt"
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
// The defaults of the kind blocks are applied by each kind's checker
// (DefaultICMPOptions, DefaultMaxRedirects), for the same reason.
var DefaultCheckConfig = CheckConfig{Interval: 30 * time.Second, Timeout: 10 * time.Second}

// KnownKinds lists the kinds Validate accepts, in the order its errors
// name them.
func KnownKinds() []string {
	return []string{wire.KindDNS, wire.KindHTTP, wire.KindICMP, wire.KindTCP}
}

// ApplyDefaults fills the interval and timeout a check left unset from
// DefaultCheckConfig.
func (cc *CheckConfig) ApplyDefaults() {
	if cc.Interval == 0 {
		cc.Interval = DefaultCheckConfig.Interval
	}
	if cc.Timeout == 0 {
		cc.Timeout = DefaultCheckConfig.Timeout
	}
}

// Validate checks one check as a probe does at load, without building a
// checker, so that the collector refuses at its own load what a probe
// would refuse. Every error it returns is a *FieldError whose Field starts
// at the check ("timeout", "http.valid_status_codes[0]"); a caller that
// holds the check under a key puts it in front with Under. Validate opens
// no socket; it does read a TLS ca_file (up to MaxFileBytes), as the
// probe's load always has, so that a file that is missing or holds no
// certificate fails the config rather than every run. A check from the
// collector's catalogue is validated with ValidateCentral instead, which
// opens no file. Names unique across checks are the caller's to check.
func (cc *CheckConfig) Validate() error {
	if cc.Name == "" {
		return &FieldError{Field: "name", Reason: "is missing"}
	}
	known := KnownKinds()
	if !slices.Contains(known, cc.Kind) {
		return quoted("kind", cc.Kind, "is not one of "+strings.Join(known, ", "))
	}
	switch {
	case cc.Interval <= 0:
		return inParens("interval", cc.Interval, "must be positive")
	case cc.Timeout <= 0:
		return inParens("timeout", cc.Timeout, "must be positive")
	case cc.Timeout >= cc.Interval:
		return inParens("timeout", cc.Timeout, fmt.Sprintf("must be shorter than interval (%s)", cc.Interval))
	}
	for _, block := range cc.blocks() {
		if block != cc.Kind {
			return &FieldError{Field: block, Reason: fmt.Sprintf("is set but kind is %q", cc.Kind)}
		}
	}
	return cc.ValidateAs(cc.Kind)
}

// ValidateAs checks the target and the options of kind, what a checker of
// that kind needs; its constructor calls it before it builds anything.
// Like Validate, it returns a *FieldError.
func (cc *CheckConfig) ValidateAs(kind string) error {
	switch kind {
	case wire.KindHTTP:
		return cc.validateHTTP()
	case wire.KindTCP:
		return cc.validateTCP()
	case wire.KindICMP:
		return cc.validateICMP()
	case wire.KindDNS:
		return cc.validateDNS()
	}
	return quoted("kind", kind, "is not one of "+strings.Join(KnownKinds(), ", "))
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
// is. The probe's ParseConfig calls it with its resolver before
// validation.
func (cc *CheckConfig) ResolvePaths(resolve func(string) string) {
	if cc.HTTP != nil {
		cc.HTTP.TLS.resolvePaths(resolve)
	}
	if cc.TCP != nil {
		cc.TCP.TLSConfig.resolvePaths(resolve)
	}
}

// validateRegexps compiles each expression once, naming the bad one; the
// checker compiles them again into its own state.
func validateRegexps(field string, exprs []string) error {
	for i, e := range exprs {
		if _, err := regexp.Compile(e); err != nil {
			return &FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Value: e, show: "(%q)", Err: err}
		}
	}
	return nil
}
