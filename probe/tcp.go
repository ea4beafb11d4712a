package probe

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// tcpChecker opens a TCP connection and closes it: success is connecting.
type tcpChecker struct {
	cc CheckConfig
	// dialContext is the seam tests and later options (source address,
	// IP version) use; it defaults to a plain net.Dialer.
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
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
	return &tcpChecker{cc: cc, dialContext: (&net.Dialer{}).DialContext}, nil
}

// Run connects once. For a host name, the connect phase includes name
// resolution.
func (c *tcpChecker) Run(ctx context.Context, log *slog.Logger) Result {
	start := time.Now()
	r := startResult(c.cc, start)
	conn, err := c.dialContext(ctx, "tcp", c.cc.Target)
	if err != nil {
		finish(&r, start, err)
		log.Debug("tcp check failed", "check", c.cc.Name, "target", c.cc.Target, "err", err)
		return r
	}
	r.Phases = map[string]float64{"connect": ms(time.Since(start))}
	conn.Close()
	r.OK = true
	finish(&r, start, nil)
	return r
}
