package checkspec

import (
	"net"
	"strconv"
)

// TCPOptions is the `tcp:` block of a check. The keys are
// blackbox_exporter's: `tls: true` turns TLS on, `tls_config` tunes it.
type TCPOptions struct {
	// TLS makes the check a TLS handshake after the connect, so that a
	// TLS service (IMAPS, a database, an https port behind a load
	// balancer) is checked by its certificate, not just its port.
	TLS       bool        `yaml:"tls,omitempty"`
	TLSConfig *TLSOptions `yaml:"tls_config,omitempty"`
}

// validateTCP checks a tcp check's host:port target and its tcp block.
func (cc *CheckConfig) validateTCP() error {
	host, port, err := net.SplitHostPort(cc.Target)
	if err != nil || host == "" {
		return quoted("target", cc.Target, "must be host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return &FieldError{Field: "target", Value: cc.Target, show: "%q:", Reason: "port must be a number in 1..65535"}
	}
	o := cc.TCP
	if o == nil {
		return nil
	}
	if o.TLSConfig != nil && !o.TLS {
		return &FieldError{Field: "tcp.tls_config", Reason: "is set but tcp.tls is false"}
	}
	if o.TLS {
		return o.TLSConfig.validate("tcp.tls_config")
	}
	return nil
}
