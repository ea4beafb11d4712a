package checkspec

import (
	"crypto/tls"
	"crypto/x509"
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

// TLSVersion maps a min_version name to its crypto/tls constant. The
// names are blackbox_exporter's, so its modules translate by copy.
func TLSVersion(name string) (uint16, bool) {
	switch name {
	case "TLS10":
		return tls.VersionTLS10, true
	case "TLS11":
		return tls.VersionTLS11, true
	case "TLS12":
		return tls.VersionTLS12, true
	case "TLS13":
		return tls.VersionTLS13, true
	}
	return 0, false
}

// validate checks the block; field is its key path ("http.tls"). A nil
// block is the defaults.
func (o *TLSOptions) validate(field string) error {
	if o == nil {
		return nil
	}
	if o.MinVersion != "" {
		if _, ok := TLSVersion(o.MinVersion); !ok {
			return quoted(field+".min_version", o.MinVersion, "is not one of TLS10, TLS11, TLS12, TLS13")
		}
	}
	_, err := o.RootCAs(field)
	return err
}

// RootCAs reads ca_file into a pool; nil (the system roots) when it is
// unset. field is the block's key path, for a *FieldError.
func (o *TLSOptions) RootCAs(field string) (*x509.CertPool, error) {
	if o == nil || o.CAFile == "" {
		return nil, nil
	}
	pem, err := ReadFile(field+".ca_file", o.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, quoted(field+".ca_file", o.CAFile, "holds no PEM certificate")
	}
	return pool, nil
}

// resolvePaths makes CAFile relative to the config file's directory.
func (o *TLSOptions) resolvePaths(resolve func(string) string) {
	if o != nil {
		o.CAFile = resolve(o.CAFile)
	}
}
