package check

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"os"
	"time"
)

// TLSOptions are the TLS settings an http or tcp check shares. The zero
// value verifies against the system roots with the target's host name,
// which is what a district user's browser would do.
type TLSOptions struct {
	// ServerName overrides the name sent in SNI and verified in the
	// certificate, for targets given by IP address.
	ServerName string `yaml:"server_name,omitempty"`
	// CAFile is a PEM bundle that replaces the system roots, for
	// e-services signed by a government CA the system does not carry.
	CAFile string `yaml:"ca_file,omitempty"`
	// InsecureSkipVerify accepts any certificate; the expiry of the leaf
	// is still reported, so a check can watch a self-signed service.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify,omitempty"`
	// MinVersion is TLS10, TLS11, TLS12 or TLS13 (default: Go's, TLS12).
	MinVersion string `yaml:"min_version,omitempty"`
}

// tlsVersions maps the config's names to crypto/tls constants; the names
// are blackbox_exporter's, so its modules translate by copy.
var tlsVersions = map[string]uint16{
	"TLS10": tls.VersionTLS10,
	"TLS11": tls.VersionTLS11,
	"TLS12": tls.VersionTLS12,
	"TLS13": tls.VersionTLS13,
}

// certExpiryPhase is the phase that carries the days left on the leaf
// certificate. Result has no field for it, so it travels in Phases.
const certExpiryPhase = "cert_expiry_days"

// build turns the options into a *tls.Config once, at load: the CA file
// is read here so that a missing file fails the config, not every run.
// field is the key path for errors ("http.tls"). A nil receiver means
// defaults.
func (o *TLSOptions) build(field string) (*tls.Config, error) {
	cfg := &tls.Config{}
	if o == nil {
		return cfg, nil
	}
	cfg.ServerName = o.ServerName
	cfg.InsecureSkipVerify = o.InsecureSkipVerify
	if o.MinVersion != "" {
		v, ok := tlsVersions[o.MinVersion]
		if !ok {
			return nil, fmt.Errorf("%s.min_version %q is not one of TLS10, TLS11, TLS12, TLS13", field, o.MinVersion)
		}
		cfg.MinVersion = v
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w", field, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file %q holds no PEM certificate", field, o.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// defaultClientTLS is the config of every check without TLS options. It
// is never changed after init: withServerName copies it.
var defaultClientTLS = &tls.Config{}

// shared is build for callers that never modify the result: checks
// without options share one config instead of allocating their own.
func (o *TLSOptions) shared(field string) (*tls.Config, error) {
	if o == nil {
		return defaultClientTLS, nil
	}
	return o.build(field)
}

// withServerName returns cfg if it names a server already (server_name
// applies to every host of a redirect chain, as in net/http), else a copy
// that sends host in SNI and verifies the certificate against it. Go
// sends no SNI for an IP literal and verifies its IP SANs instead.
func withServerName(cfg *tls.Config, host string) *tls.Config {
	if cfg.ServerName != "" {
		return cfg
	}
	c := cfg.Clone()
	c.ServerName = host
	return c
}

// resolvePaths makes CAFile relative to the config file's directory.
func (o *TLSOptions) resolvePaths(resolve func(string) string) {
	if o != nil {
		o.CAFile = resolve(o.CAFile)
	}
}

// certExpiryDays is how many days the peer's leaf certificate has left,
// or false when there was no TLS. An expired certificate (accepted with
// insecure_skip_verify) reports 0: the collector takes no negative
// phases, and "expired" needs no finer grain.
func certExpiryDays(state *tls.ConnectionState, now time.Time) (float64, bool) {
	if state == nil || len(state.PeerCertificates) == 0 {
		return 0, false
	}
	days := state.PeerCertificates[0].NotAfter.Sub(now).Hours() / 24
	return math.Max(days, 0), true
}
