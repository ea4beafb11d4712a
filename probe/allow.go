package probe

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check"
	"go.yaml.in/yaml/v3"
)

// AllowConfig bounds what checks may target, so that a compromised
// collector cannot turn probes against district networks: the probe never
// checks a target outside it.
//
// Names are judged by name and IP literals by CIDR; nothing is resolved
// to decide. A name that resolves into an allowed CIDR is still refused
// unless a host pattern admits it, and a name a pattern admits is allowed
// whatever it resolves to (the operator vouches for the name). An IP
// literal is allowed when a CIDR contains it or a hosts entry is that
// very address.
//
// An empty allow list admits every local check (the operator's own file)
// and refuses every central one. A non-empty one binds both: a local
// check outside it is a config error when the probe starts.
type AllowConfig struct {
	// CIDRs are the networks whose IP literals checks may target.
	CIDRs []string `yaml:"cidrs,omitempty"`
	// Hosts are names, exact ("portal.example.id") or "*." followed by a
	// domain, which admits its subdomains but not the domain itself.
	// Matching is case-insensitive and ignores a trailing dot.
	Hosts []string `yaml:"hosts,omitempty"`

	// Compiled by validate, nil while the lists are empty.
	prefixes []netip.Prefix
	addrs    map[netip.Addr]bool
	names    map[string]bool
	suffixes []string // ".example.id" for "*.example.id"
}

// hostRE is a DNS name of letters, digits, hyphens and underscores.
var hostRE = regexp.MustCompile(`^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

func (a *AllowConfig) validate() error {
	a.prefixes, a.addrs, a.names, a.suffixes = nil, nil, nil, nil
	for i, c := range a.CIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("allow.cidrs[%d] %q is not a CIDR like 10.20.0.0/16 or 2001:db8::/32", i, c)
		}
		a.prefixes = append(a.prefixes, p.Masked())
	}
	for i, h := range a.Hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if addr, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			if a.addrs == nil {
				a.addrs = map[netip.Addr]bool{}
			}
			a.addrs[addr.Unmap()] = true
			continue
		}
		domain, wild := strings.CutPrefix(h, "*.")
		if !hostRE.MatchString(domain) || len(domain) > 253 {
			return fmt.Errorf("allow.hosts[%d] %q must be a host name, optionally starting with \"*.\" for its subdomains", i, a.Hosts[i])
		}
		if wild {
			a.suffixes = append(a.suffixes, "."+domain)
			continue
		}
		if a.names == nil {
			a.names = map[string]bool{}
		}
		a.names[domain] = true
	}
	return nil
}

// Empty reports whether no CIDR and no host is allowed.
func (a *AllowConfig) Empty() bool { return len(a.CIDRs) == 0 && len(a.Hosts) == 0 }

// allows judges one host (a name or an IP literal, brackets allowed).
func (a *AllowConfig) allows(host string) bool {
	host = strings.Trim(host, "[]")
	if addr, err := netip.ParseAddr(host); err == nil {
		addr = addr.WithZone("").Unmap()
		if a.addrs[addr] {
			return true
		}
		for _, p := range a.prefixes {
			if p.Contains(addr) {
				return true
			}
		}
		return false
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "" {
		return false
	}
	if a.names[h] {
		return true
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

// hostOptions are the option keys that name a host the probe contacts or
// asks about besides the target: a dns check's resolver and the name it
// asks about when that is not the target, an http check's proxy.
var hostOptions = [][2]string{{"dns", "server"}, {"dns", "query_name"}, {"http", "proxy_url"}}

// admit returns an error naming the first host of cc outside the list:
// the target's host (for a dns check, a name it may ask about) and every
// host of hostOptions.
func (a *AllowConfig) admit(cc checkspec.CheckConfig) error {
	if h := checkspec.TargetHost(cc.Target); !a.allows(h) {
		return fmt.Errorf("target %q: host %q is outside allow (cidrs %v, hosts %v)", cc.Target, h, a.CIDRs, a.Hosts)
	}
	opts, err := optionMap(cc)
	if err != nil {
		return fmt.Errorf("options: %w", err) // fail closed
	}
	for _, o := range hostOptions {
		block, _ := opts[o[0]].(map[string]any)
		v, _ := block[o[1]].(string)
		if h := checkspec.TargetHost(v); v != "" && !a.allows(h) {
			return fmt.Errorf("%s.%s %q: host %q is outside allow (cidrs %v, hosts %v)", o[0], o[1], v, h, a.CIDRs, a.Hosts)
		}
	}
	return nil
}

// admitCentral judges a check from the collector: inside the list, and
// naming no local file (a ca_file, say), which only the operator may do.
func (a *AllowConfig) admitCentral(cc checkspec.CheckConfig) error {
	if err := a.admit(cc); err != nil {
		return err
	}
	m, err := optionMap(cc)
	if err != nil {
		return fmt.Errorf("options: %w", err) // fail closed
	}
	if key := fileKey("", m); key != "" {
		return fmt.Errorf("%s names a file of the probe; only local checks may", key)
	}
	return nil
}

// fileKey returns the first key path ending in "_file" set in m.
func fileKey(prefix string, m map[string]any) string {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch v := m[k].(type) {
		case map[string]any:
			if key := fileKey(prefix+k+".", v); key != "" {
				return key
			}
		case string:
			if strings.HasSuffix(k, "_file") && v != "" {
				return prefix + k
			}
		}
	}
	return ""
}

// admitLocal refuses, when the list is set, a check of the operator's own
// file outside it: the probe never checks a target outside its allowlist.
func (a *AllowConfig) admitLocal(checks []checkspec.CheckConfig) error {
	if a.Empty() {
		return nil
	}
	for i, cc := range checks {
		if err := a.admit(cc); err != nil {
			return fmt.Errorf("checks[%d].%w", i, err)
		}
	}
	return nil
}

// optionMap is a check in its YAML form, so that the allow list reads
// the per-kind option blocks by their documented keys without depending
// on how each kind declares them.
func optionMap(cc checkspec.CheckConfig) (map[string]any, error) {
	b, err := yaml.Marshal(cc)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// kinds returns the check kinds on sockets, with http checks that follow
// redirects only to allowed hosts, so that an allowed URL cannot send the
// probe anywhere else.
func (a *AllowConfig) kinds(sockets *check.Sockets) check.Kinds {
	if a.Empty() {
		return check.NewKinds(sockets)
	}
	return check.NewKinds(sockets, check.RedirectAllowed(a.allows))
}
