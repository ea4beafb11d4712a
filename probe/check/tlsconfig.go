package check

import (
	"crypto/tls"
	"math"
	"time"

	"github.com/jangkau/jangkau/checkspec"
)

// CertExpiryPhase is the phase that carries the days left on the leaf
// certificate. Result has no field for it, so it travels in Phases.
const CertExpiryPhase = "cert_expiry_days"

// buildTLS turns the options into a *tls.Config once, at load: the CA
// file is read here so that a missing file fails the config, not every
// run. field is the key path for errors ("http.tls"). A nil o means
// defaults.
func buildTLS(o *checkspec.TLSOptions, field string) (*tls.Config, error) {
	cfg := &tls.Config{}
	if o == nil {
		return cfg, nil
	}
	cfg.ServerName = o.ServerName
	cfg.InsecureSkipVerify = o.InsecureSkipVerify
	if o.MinVersion != "" {
		cfg.MinVersion, _ = checkspec.TLSVersion(o.MinVersion)
	}
	pool, err := o.RootCAs(field)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// sharedTLS is buildTLS for callers that never modify the result: checks
// without options share the Kinds' one config instead of allocating
// their own.
func (e *env) sharedTLS(o *checkspec.TLSOptions, field string) (*tls.Config, error) {
	if o == nil {
		return e.defaultTLS, nil
	}
	return buildTLS(o, field)
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
