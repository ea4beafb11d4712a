package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/jangkau/jangkau/wire"
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

// tcpChecker opens a TCP connection (and optionally completes a TLS
// handshake) and closes it: success is connecting.
type tcpChecker struct {
	cc CheckConfig
	// dialContext is the seam tests and later options (source address,
	// IP version) use; it defaults to a plain net.Dialer.
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig   *tls.Config // nil: plain TCP
}

var _ Checker = (*tcpChecker)(nil)

func newTCPChecker(cc CheckConfig) (Checker, error) {
	host, port, err := net.SplitHostPort(cc.Target)
	if err != nil || host == "" {
		return nil, fmt.Errorf("target %q must be host:port", cc.Target)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("target %q: port must be a number in 1..65535", cc.Target)
	}
	c := &tcpChecker{cc: cc, dialContext: (&net.Dialer{}).DialContext}
	if o := cc.TCP; o != nil {
		if o.TLSConfig != nil && !o.TLS {
			return nil, fmt.Errorf("tcp.tls_config is set but tcp.tls is false")
		}
		if o.TLS {
			if c.tlsConfig, err = o.TLSConfig.build("tcp.tls_config"); err != nil {
				return nil, err
			}
			if c.tlsConfig.ServerName == "" {
				// Go verifies an IP literal against the certificate's IP
				// addresses and sends no SNI for it.
				c.tlsConfig.ServerName = host
			}
		}
	}
	return c, nil
}

// Run connects once. For a host name, the connect phase includes name
// resolution. With TLS, the "tls" phase is the handshake and the leaf's
// days to expiry are reported as cert_expiry_days.
func (c *tcpChecker) Run(ctx context.Context, log *slog.Logger) wire.Result {
	start := time.Now()
	r := startResult(c.cc, start)
	conn, err := c.dialContext(ctx, "tcp", c.cc.Target)
	if err != nil {
		finish(&r, start, err)
		log.Debug("tcp check failed", "check", c.cc.Name, "target", c.cc.Target, "err", err)
		return r
	}
	connected := time.Now()
	r.Phases = map[string]float64{"connect": ms(connected.Sub(start))}
	defer conn.Close()
	if c.tlsConfig != nil {
		tc := tls.Client(conn, c.tlsConfig)
		err = tc.HandshakeContext(ctx)
		done := time.Now()
		if err != nil {
			finish(&r, start, err)
			log.Debug("tcp check failed", "check", c.cc.Name, "target", c.cc.Target, "err", err)
			return r
		}
		r.Phases["tls"] = ms(done.Sub(connected))
		state := tc.ConnectionState()
		if days, ok := certExpiryDays(&state, done); ok {
			r.Phases[certExpiryPhase] = days
		}
	}
	r.OK = true
	finish(&r, start, nil)
	return r
}
