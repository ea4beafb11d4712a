package check

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
)

// tcpChecker opens a TCP connection (and optionally completes a TLS
// handshake) and closes it: success is connecting.
type tcpChecker struct {
	cc checkspec.CheckConfig
	// dialContext is the seam tests and later options (source address,
	// IP version) use; it defaults to a plain net.Dialer.
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig   *tls.Config // nil: plain TCP
}

var _ Checker = (*tcpChecker)(nil)

// newTCP validates cc with checkspec and builds its checker,
// loading the TLS config once when the check asks for TLS.
func (e *env) newTCP(cc checkspec.CheckConfig) (*tcpChecker, error) {
	if err := cc.ValidateAs(wire.KindTCP); err != nil {
		return nil, err
	}
	c := &tcpChecker{cc: cc, dialContext: (&net.Dialer{}).DialContext}
	if o := cc.TCP; o != nil && o.TLS {
		var err error
		if c.tlsConfig, err = buildTLS(o.TLSConfig, "tcp.tls_config"); err != nil {
			return nil, err
		}
		if c.tlsConfig.ServerName == "" {
			// Go verifies an IP literal against the certificate's IP
			// addresses and sends no SNI for it.
			host, _, _ := net.SplitHostPort(cc.Target)
			c.tlsConfig.ServerName = host
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
			r.Phases[CertExpiryPhase] = days
		}
	}
	r.OK = true
	finish(&r, start, nil)
	return r
}
