package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// ICMPOptions is the `icmp:` block of a check: several echo requests per
// run, so that loss and jitter are measured as SmokePing does (the most
// asked-for feature blackbox_exporter refused).
type ICMPOptions struct {
	// Count is how many echo requests a run sends (default 5).
	Count int `yaml:"count,omitempty"`
	// Interval is the time between two requests (default 200ms, the
	// shortest that ping(8) allows a user who is not root, so a probe
	// without privileges sends what an operator's own ping would).
	// Count × Interval must be shorter than the check's timeout, which
	// leaves at least one interval for the last reply.
	Interval time.Duration `yaml:"interval,omitempty"`
	// Size is the payload in bytes (default 56, as ping(8); at least 24,
	// which pro-bing needs for its timestamp and tracker).
	Size int `yaml:"size,omitempty"`
	// DontFragment sets DF, to find a path whose MTU is below Size+28.
	DontFragment bool `yaml:"dont_fragment,omitempty"`
	// IPProtocol is ip4, ip6 or auto (default: the first address the
	// resolver returns).
	IPProtocol string `yaml:"ip_protocol,omitempty"`
	// RecordRTTs adds each reply's RTT as phase rtt_<seq> (seq 0 is the
	// first request; a lost one has no phase). The collector takes 16
	// phases per result, so it needs count ≤ 8.
	RecordRTTs bool `yaml:"record_rtts,omitempty"`
}

const (
	defaultICMPCount    = 5
	defaultICMPInterval = 200 * time.Millisecond
	defaultICMPSize     = 56
	minICMPSize         = 24 // pro-bing's timestamp (8) and tracker UUID (16)
	maxICMPSize         = 65507
	maxICMPRecordRTTs   = 8 // 16 phases minus sent, received, loss, rtt_*×4, resolve
)

// icmpChecker pings a host Count times per run.
type icmpChecker struct {
	cc       CheckConfig
	o        ICMPOptions // with defaults applied
	network  string      // ip, ip4 or ip6
	ip       *net.IPAddr // set when the target is an address
	lookup   func(ctx context.Context, host string) ([]net.IPAddr, error)
	sockMode func(ipv6 bool) (privileged bool, err error)
	// mode caches the socket decision per family once it worked:
	// 0 unknown, 1 privileged (raw), 2 unprivileged (datagram).
	mode [2]atomic.Int32
}

var _ Checker = (*icmpChecker)(nil)

func newICMPChecker(cc CheckConfig) (Checker, error) {
	o := ICMPOptions{Count: defaultICMPCount, Interval: defaultICMPInterval, Size: defaultICMPSize}
	if b := cc.ICMP; b != nil {
		o.DontFragment, o.IPProtocol, o.RecordRTTs = b.DontFragment, b.IPProtocol, b.RecordRTTs
		if b.Count != 0 {
			o.Count = b.Count
		}
		if b.Interval != 0 {
			o.Interval = b.Interval
		}
		if b.Size != 0 {
			o.Size = b.Size
		}
	}
	c := &icmpChecker{cc: cc, o: o, lookup: net.DefaultResolver.LookupIPAddr, sockMode: icmpSocketMode}
	switch {
	case o.Count < 1 || o.Count > 1000:
		return nil, fmt.Errorf("icmp.count (%d) must be within 1..1000", o.Count)
	case o.Interval < time.Millisecond:
		return nil, fmt.Errorf("icmp.interval (%s) must be at least 1ms", o.Interval)
	case time.Duration(o.Count)*o.Interval >= cc.Timeout:
		return nil, fmt.Errorf("icmp.count (%d) × icmp.interval (%s) must be shorter than timeout (%s)", o.Count, o.Interval, cc.Timeout)
	case o.Size < minICMPSize || o.Size > maxICMPSize:
		return nil, fmt.Errorf("icmp.size (%d) must be within %d..%d", o.Size, minICMPSize, maxICMPSize)
	case o.RecordRTTs && o.Count > maxICMPRecordRTTs:
		return nil, fmt.Errorf("icmp.record_rtts needs count ≤ %d (16 phases per result); count is %d", maxICMPRecordRTTs, o.Count)
	}
	switch o.IPProtocol {
	case "", "auto":
		c.network = "ip"
	case "ip4", "ip6":
		c.network = o.IPProtocol
	default:
		return nil, fmt.Errorf("icmp.ip_protocol %q is not ip4, ip6 or auto", o.IPProtocol)
	}
	if _, _, err := net.SplitHostPort(cc.Target); err == nil || cc.Target == "" {
		return nil, fmt.Errorf("target %q must be a host name or an IP address, without a port", cc.Target)
	}
	if ip := net.ParseIP(cc.Target); ip != nil {
		if (c.network == "ip4" && ip.To4() == nil) || (c.network == "ip6" && ip.To4() != nil) {
			return nil, fmt.Errorf("target %q is not an address of icmp.ip_protocol %s", cc.Target, c.network)
		}
		c.ip = &net.IPAddr{IP: ip}
	}
	return c, nil
}

// Run pings the target. OK means at least one reply came back: loss is
// reported, not failed on, so a map can grade it. DurationMS is the mean
// RTT when a reply came back (what a "latency" column should show for a
// ping), else the time the run waited.
func (c *icmpChecker) Run(ctx context.Context, log *slog.Logger) Result {
	start := time.Now()
	r := startResult(c.cc, start)
	r.Phases = map[string]float64{}
	ip, err := c.resolve(ctx, r.Phases)
	if err == nil {
		err = c.ping(ctx, ip, log, r.Phases)
	}
	r.OK = err == nil
	finish(&r, start, err)
	if avg, ok := r.Phases["rtt_avg"]; ok {
		r.DurationMS = avg
	}
	if err != nil {
		log.Debug("icmp check failed", "check", c.cc.Name, "target", c.cc.Target, "err", err)
	}
	return r
}

// resolve returns the address to ping; a looked-up name adds "resolve".
func (c *icmpChecker) resolve(ctx context.Context, phases map[string]float64) (*net.IPAddr, error) {
	if c.ip != nil {
		return c.ip, nil
	}
	start := time.Now()
	addrs, err := c.lookup(ctx, c.cc.Target)
	if err != nil {
		return nil, err
	}
	phases["resolve"] = ms(time.Since(start))
	for _, a := range addrs {
		if c.network == "ip" || (c.network == "ip4") == (a.IP.To4() != nil) {
			return &a, nil
		}
	}
	return nil, &net.DNSError{Err: "no " + c.network + " address", Name: c.cc.Target, IsNotFound: true}
}

// socketPrivileged decides raw or datagram socket for the family, once.
func (c *icmpChecker) socketPrivileged(ipv6 bool) (bool, error) {
	fam := 0
	if ipv6 {
		fam = 1
	}
	switch c.mode[fam].Load() {
	case 1:
		return true, nil
	case 2:
		return false, nil
	}
	privileged, err := c.sockMode(ipv6)
	if err != nil {
		return false, err // not cached: an operator may fix the sysctl
	}
	m := int32(2)
	if privileged {
		m = 1
	}
	c.mode[fam].Store(m)
	return privileged, nil
}

// ping runs pro-bing once and puts its figures in phases.
func (c *icmpChecker) ping(ctx context.Context, ip *net.IPAddr, log *slog.Logger, phases map[string]float64) error {
	privileged, err := c.socketPrivileged(ip.IP.To4() == nil)
	if err != nil {
		return err
	}
	p := probing.New(ip.String())
	p.SetIPAddr(ip)
	p.SetPrivileged(privileged)
	p.SetDoNotFragment(c.o.DontFragment)
	p.SetLogger(probingLogger{log})
	p.Count, p.Interval, p.Size = c.o.Count, c.o.Interval, c.o.Size
	p.RecordRtts, p.RecordTTLs = false, false
	// Stop a little before the run's deadline, so that the statistics
	// of a lossy run are complete rather than cut.
	p.Timeout = c.cc.Timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		p.Timeout = left - min(left/10, 50*time.Millisecond)
	}
	if p.Timeout <= 0 {
		return context.DeadlineExceeded
	}
	rtts := map[int]time.Duration{}
	var sendErr error
	p.OnRecv = func(pkt *probing.Packet) { rtts[pkt.Seq] = pkt.Rtt }
	p.OnSendError = func(_ *probing.Packet, err error) { sendErr = err }
	runErr := p.RunWithContext(ctx)
	st := p.Statistics()
	phases["sent"] = float64(st.PacketsSent)
	phases["received"] = float64(st.PacketsRecv)
	if st.PacketsSent > 0 {
		phases["loss"] = float64(st.PacketsSent-st.PacketsRecv) / float64(st.PacketsSent)
	}
	if st.PacketsRecv > 0 {
		phases["rtt_min"], phases["rtt_avg"] = ms(st.MinRtt), ms(st.AvgRtt)
		phases["rtt_max"], phases["rtt_stddev"] = ms(st.MaxRtt), ms(st.StdDevRtt)
		if c.o.RecordRTTs {
			for seq, rtt := range rtts {
				phases["rtt_"+strconv.Itoa(seq)] = ms(rtt)
			}
		}
		return nil
	}
	switch {
	case sendErr != nil:
		return fmt.Errorf("icmp: send to %s: %w", ip, sendErr)
	case runErr != nil && !errors.Is(runErr, context.DeadlineExceeded):
		return fmt.Errorf("icmp: ping %s: %w", ip, runErr)
	}
	return fmt.Errorf("icmp: no reply to %d echo requests to %s: %w", st.PacketsSent, ip, os.ErrDeadlineExceeded)
}

// probingLogger sends pro-bing's messages to slog at debug level: its
// "Fatalf" reports a failed send and carries on, and the check reports
// that failure itself.
type probingLogger struct{ log *slog.Logger }

func (l probingLogger) Fatalf(f string, v ...any) { l.log.Debug("pro-bing: " + fmt.Sprintf(f, v...)) }
func (l probingLogger) Errorf(f string, v ...any) { l.log.Debug("pro-bing: " + fmt.Sprintf(f, v...)) }
func (l probingLogger) Warnf(f string, v ...any)  { l.log.Debug("pro-bing: " + fmt.Sprintf(f, v...)) }
func (l probingLogger) Infof(f string, v ...any)  { l.log.Debug("pro-bing: " + fmt.Sprintf(f, v...)) }
func (l probingLogger) Debugf(f string, v ...any) { l.log.Debug("pro-bing: " + fmt.Sprintf(f, v...)) }
