package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
)

// icmpChecker pings a host Count times per run.
type icmpChecker struct {
	cc       checkspec.CheckConfig
	o        checkspec.ICMPOptions // with defaults applied
	network  string                // ip, ip4 or ip6
	ip       *net.IPAddr           // set when the target is an address
	lookup   func(ctx context.Context, host string) ([]net.IPAddr, error)
	sockMode func(ipv6 bool) (privileged bool, err error)
	socks    *Sockets
	// mode caches the socket decision per family once it worked:
	// 0 unknown, 1 privileged (raw), 2 unprivileged (datagram).
	mode [2]atomic.Int32
}

var _ Checker = (*icmpChecker)(nil)

// newICMP validates cc with checkspec and builds its checker on
// the Kinds' shared sockets.
func (e *env) newICMP(cc checkspec.CheckConfig) (*icmpChecker, error) {
	if err := cc.ValidateAs(wire.KindICMP); err != nil {
		return nil, err
	}
	o := cc.ICMP.WithDefaults()
	c := &icmpChecker{cc: cc, o: o, network: o.Network(), lookup: net.DefaultResolver.LookupIPAddr, sockMode: icmpSocketMode, socks: e.sockets}
	if ip := net.ParseIP(cc.Target); ip != nil {
		c.ip = &net.IPAddr{IP: ip}
	}
	return c, nil
}

// Run pings the target. OK means at least one reply came back: loss is
// reported, not failed on, so a map can grade it. DurationMS is the mean
// RTT when a reply came back (what a "latency" column should show for a
// ping), else the time the run waited.
func (c *icmpChecker) Run(ctx context.Context, log *slog.Logger) wire.Result {
	start := time.Now()
	r := startResult(c.cc, start)
	r.Phases = map[string]float64{}
	ip, err := c.resolve(ctx, r.Phases)
	if err == nil {
		err = c.ping(ctx, ip, r.Phases)
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

// ping sends Count echo requests Interval apart on the shared socket and
// waits for their replies until all came back or the run's time is up.
func (c *icmpChecker) ping(ctx context.Context, ip *net.IPAddr, phases map[string]float64) error {
	v6 := ip.IP.To4() == nil
	privileged, err := c.socketPrivileged(v6)
	if err != nil {
		return err
	}
	s, err := c.socks.acquire(echoKey{v6: v6, privileged: privileged, dontFragment: c.o.DontFragment})
	if err != nil {
		return err
	}
	defer c.socks.release(s)
	// Stop a little before the run's deadline, so that the statistics
	// of a lossy run are complete rather than cut.
	start := time.Now()
	end := start.Add(c.cc.Timeout)
	if dl, ok := ctx.Deadline(); ok {
		left := dl.Sub(start)
		end = start.Add(left - min(left/10, 50*time.Millisecond))
	}
	if !end.After(start) {
		return context.DeadlineExceeded
	}
	run := newEchoRun(c.o.Count)
	defer s.forget(run)
	rtts := make([]time.Duration, c.o.Count)
	got := make([]bool, c.o.Count)
	var sent, received int
	var sendErr error
	var timer *time.Timer // made on the first wait: a reply on a short path is often in before it
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	take := func(r echoReply) {
		if !got[r.n] {
			got[r.n], rtts[r.n] = true, r.rtt
			received++
		}
	}
	for received < c.o.Count {
		select {
		case r := <-run.replies:
			take(r)
			continue
		default:
		}
		now := time.Now()
		if !now.Before(end) {
			break
		}
		next := end
		if sent < c.o.Count {
			if due := start.Add(time.Duration(sent) * c.o.Interval); !now.Before(due) {
				if err := s.send(run, sent, ip, c.o.Size); err != nil && sendErr == nil {
					sendErr = err
				}
				sent++
				continue
			} else if due.Before(next) {
				next = due
			}
		}
		// Go 1.23 timers: Reset needs no draining, and no stale tick
		// arrives after it.
		if timer == nil {
			timer = time.NewTimer(next.Sub(now))
		} else {
			timer.Reset(next.Sub(now))
		}
		select {
		case r := <-run.replies:
			take(r)
		case <-timer.C:
		case <-ctx.Done():
			end = now // take what came back
		}
	}
	phases["sent"] = float64(sent)
	phases["received"] = float64(received)
	if sent > 0 {
		phases["loss"] = float64(sent-received) / float64(sent)
	}
	if received > 0 {
		st := rttStats(rtts, got)
		phases["rtt_min"], phases["rtt_avg"] = ms(st.min), ms(st.avg)
		phases["rtt_max"], phases["rtt_stddev"] = ms(st.max), ms(st.stddev)
		if c.o.RecordRTTs {
			for n, ok := range got {
				if ok {
					phases["rtt_"+strconv.Itoa(n)] = ms(rtts[n])
				}
			}
		}
		return nil
	}
	if sendErr != nil {
		return fmt.Errorf("icmp: send to %s: %w", ip, sendErr)
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("icmp: ping %s: %w", ip, err)
	}
	return fmt.Errorf("icmp: no reply to %d echo requests to %s: %w", sent, ip, os.ErrDeadlineExceeded)
}

// rttSummary is what ping(8) prints on its last line.
type rttSummary struct{ min, avg, max, stddev time.Duration }

// rttStats summarises the RTTs of the replies that came back; stddev is
// the population's, as ping(8) and pro-bing report it.
func rttStats(rtts []time.Duration, got []bool) rttSummary {
	var st rttSummary
	var n, sum, sumSq float64
	for i, ok := range got {
		if !ok {
			continue
		}
		r := rtts[i]
		if n == 0 || r < st.min {
			st.min = r
		}
		st.max = max(st.max, r)
		x := float64(r)
		n, sum, sumSq = n+1, sum+x, sumSq+x*x
	}
	if n == 0 {
		return st
	}
	mean := sum / n
	st.avg = time.Duration(mean)
	st.stddev = time.Duration(math.Sqrt(max(0, sumSq/n-mean*mean)))
	return st
}
