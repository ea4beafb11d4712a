package checkspec

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// Floors that bind central checks, the ones the collector hands out: a
// collector (or whoever controls its config) must not be able to make a
// fleet of probes flood a target. Local checks are the probe operator's
// own and are not floored, as the allow list does not bind them either
// unless set.
const (
	// MinCentralInterval is the shortest interval of a central check.
	MinCentralInterval = time.Second
	// MaxHostRate is how many runs per second the central checks of one
	// probe may make against one host, summed over the checks that contact
	// it (a probe's local checks count towards it too): two checks every
	// second, or sixty every 30 s.
	MaxHostRate = 2.0
)

// ValidateCentral checks a check of the collector's catalogue as a probe
// will take it: Validate's rules, interval at least MinCentralInterval,
// and no option that names a file. A file option (tls.ca_file) is
// refused before any file is opened: the file would be the probe's, not
// the collector's, and the collector's config must not make a probe read
// one (a CA bundle missing on the probe, /dev/zero). It returns a
// *FieldError.
func (cc *CheckConfig) ValidateCentral() error {
	if key, path := cc.fileOption(); key != "" {
		return quoted(key, path, "names a file; a central check may not, because the file would be read on every probe: "+
			"put the check in the probe's own checks, or use server_name or insecure_skip_verify")
	}
	if err := cc.Validate(); err != nil {
		return err
	}
	if cc.Interval < MinCentralInterval {
		return inParens("interval", cc.Interval, fmt.Sprintf("must be at least %s in a central check", MinCentralInterval))
	}
	return nil
}

// fileOption returns the key and value of the first option of cc that
// names a file, or "" when there is none.
func (cc *CheckConfig) fileOption() (key, path string) {
	if cc.HTTP != nil && cc.HTTP.TLS != nil && cc.HTTP.TLS.CAFile != "" {
		return "http.tls.ca_file", cc.HTTP.TLS.CAFile
	}
	if cc.TCP != nil && cc.TCP.TLSConfig != nil && cc.TCP.TLSConfig.CAFile != "" {
		return "tcp.tls_config.ca_file", cc.TCP.TLSConfig.CAFile
	}
	return "", ""
}

// Hosts are the hosts a run of cc opens connections or sends packets to:
// the target's host (a dns check's target is the name asked about, not
// a host it contacts), the dns server, the http proxy. Names are lower
// case without a trailing dot, addresses in one spelling (an IPv4-mapped
// IPv6 address is its IPv4 address).
func (cc *CheckConfig) Hosts() []string {
	var hosts []string
	add := func(h string) {
		h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
		if a, err := netip.ParseAddr(h); err == nil {
			h = a.WithZone("").Unmap().String() // one spelling per address
		}
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if cc.Kind != wire.KindDNS {
		add(TargetHost(cc.Target))
	}
	if cc.DNS != nil {
		add(TargetHost(cc.DNS.Server))
	}
	if cc.HTTP != nil && cc.HTTP.ProxyURL != "" {
		add(TargetHost(cc.HTTP.ProxyURL))
	}
	return hosts
}

// TargetHost is the host of any kind's target: a URL's host, the host of
// host:port, or the target itself.
func TargetHost(target string) string {
	if u, err := url.Parse(target); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Hostname()
	}
	if h, _, err := net.SplitHostPort(target); err == nil {
		return h
	}
	return strings.Trim(target, "[]")
}

// HostLoad sums the rate of runs per host of a list of checks, so that a
// list can be held to MaxHostRate one check at a time. The zero value is
// empty and ready.
type HostLoad struct {
	rate   map[string]float64
	checks map[string][]string // names of the checks counted per host
}

// Add counts cc whatever the load: for checks that are not refused by
// the bound (a probe's local ones).
func (l *HostLoad) Add(cc CheckConfig) {
	if l.rate == nil {
		l.rate, l.checks = map[string]float64{}, map[string][]string{}
	}
	r := runsPerSecond(cc.Interval)
	for _, h := range cc.Hosts() {
		l.rate[h] += r
		l.checks[h] = append(l.checks[h], cc.Name)
	}
}

// Admit counts cc when every host it contacts stays within MaxHostRate;
// otherwise it counts nothing and returns a *FieldError on the interval
// that names the host, the checks already counted there and the bound.
func (l *HostLoad) Admit(cc CheckConfig) error {
	r := runsPerSecond(cc.Interval)
	for _, h := range cc.Hosts() {
		// A little slack, so that two checks at exactly 1s fit 2/s.
		if total := l.rate[h] + r; total > MaxHostRate+1e-9 {
			with := ""
			if len(l.checks[h]) > 0 {
				with = " together with checks " + strings.Join(l.checks[h], ", ")
			}
			return inParens("interval", cc.Interval, fmt.Sprintf(
				"would make %.3g runs per second against host %s%s; at most %g per host: lengthen the intervals",
				total, h, with, MaxHostRate))
		}
	}
	l.Add(cc)
	return nil
}

func runsPerSecond(interval time.Duration) float64 {
	if interval <= 0 {
		return 0 // refused by Validate; nothing to count
	}
	return float64(time.Second) / float64(interval)
}
