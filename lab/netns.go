package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The lab's addresses: a private range that exists only inside the lab's
// namespaces. None of them has a route out, and none is ever addressed
// from the root namespace.
const (
	inetAddr   = "10.77.1.2"
	coreAddr   = "10.77.2.2"
	labZone    = "banten.lab."
	nsPrefix   = "jklab-"
	nftTable   = "jklab"
	collectorP = 8080
)

// districtNet is the subnet of district i: 10.77.(10+i).0/24, the router
// at .1 and the probe at .2.
func districtNet(i int) (subnet, router, probe string) {
	p := fmt.Sprintf("10.77.%d.", 10+i)
	return p + "0/24", p + "1", p + "2"
}

// Preflight checks the tools the lab needs.
func Preflight() error {
	var missing []string
	for _, tool := range []string{"ip", "nft", "tc", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("jangkau lab needs %s (Debian: apt-get install iproute2 nftables procps)", strings.Join(missing, ", "))
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("jangkau lab needs /dev/net/tun: %w", err)
	}
	return nil
}

// network is the lab's namespaces and links.
type network struct {
	id     string // namespace name prefix, unique per run
	nsList []string
}

func (n *network) ns(name string) string { return n.id + name }

// Names of the namespaces.
func (n *network) inet() string   { return n.ns("inet") }
func (n *network) core() string   { return n.ns("core") }
func (n *network) router() string { return n.ns("rtr") }
func (n *network) district(i int) string {
	return n.ns("d" + strconv.Itoa(i))
}

// run runs a command, with its output in the error.
func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ipn runs `ip -n NS ...`.
func ipn(ctx context.Context, ns string, args ...string) error {
	return run(ctx, "ip", append([]string{"-n", ns}, args...)...)
}

// sysctl sets kernel settings inside a namespace.
func sysctl(ctx context.Context, ns string, kv ...string) error {
	return run(ctx, "ip", append([]string{"netns", "exec", ns, "sysctl", "-qw"}, kv...)...)
}

// removeStale deletes namespaces left by lab runs whose process is gone
// (a kill -9): the name carries the run's pid.
func removeStale(ctx context.Context) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if processAlive(pid) {
			continue // that run is alive
		}
		run(ctx, "ip", "netns", "del", e.Name())
	}
}

// addNS creates a namespace with loopback up and no other link.
func (n *network) addNS(ctx context.Context, name string) error {
	if err := run(ctx, "ip", "netns", "add", name); err != nil {
		return err
	}
	n.nsList = append(n.nsList, name)
	return ipn(ctx, name, "link", "set", "lo", "up")
}

// teardown deletes every namespace of the run; their links, routes, TUN
// devices and nftables tables go with them.
func (n *network) teardown() error {
	var errs []error
	for i := len(n.nsList) - 1; i >= 0; i-- {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, run(ctx, "ip", "netns", "del", n.nsList[i]))
		cancel()
	}
	n.nsList = nil
	return errors.Join(errs...)
}

// build creates the router, internet and core namespaces and one per
// district, with veth pairs to the router and two TUN devices per district
// on the router for the delay relay. Routes through the relay are added by
// route, once the relay holds the TUN devices.
func (n *network) build(ctx context.Context, districts int) error {
	rtr := n.router()
	for _, ns := range []string{rtr, n.inet(), n.core()} {
		if err := n.addNS(ctx, ns); err != nil {
			return err
		}
	}
	if err := sysctl(ctx, rtr, "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"); err != nil {
		return err
	}
	leaf := func(ns, rtrIf, addr, gw string, noPrefixRoute bool) error {
		steps := [][]string{
			{"link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", rtrIf, "netns", rtr},
		}
		for _, s := range steps {
			if err := run(ctx, "ip", s...); err != nil {
				return err
			}
		}
		rtrAddr := []string{"addr", "add", gw + "/24", "dev", rtrIf}
		if noPrefixRoute {
			rtrAddr = append(rtrAddr, "noprefixroute")
		}
		for _, c := range []struct {
			ns   string
			args []string
		}{
			{ns, []string{"addr", "add", addr + "/24", "dev", "eth0"}},
			{ns, []string{"link", "set", "eth0", "up"}},
			{ns, []string{"route", "add", "default", "via", gw}},
			{rtr, rtrAddr},
			{rtr, []string{"link", "set", rtrIf, "up"}},
		} {
			if err := ipn(ctx, c.ns, c.args...); err != nil {
				return err
			}
		}
		return sysctl(ctx, ns, "net.ipv4.ping_group_range=0 2147483647")
	}
	if err := leaf(n.inet(), "vi", inetAddr, "10.77.1.1", false); err != nil {
		return err
	}
	if err := leaf(n.core(), "vc", coreAddr, "10.77.2.1", false); err != nil {
		return err
	}
	for i := range districts {
		ns := n.district(i)
		if err := n.addNS(ctx, ns); err != nil {
			return err
		}
		_, gw, addr := districtNet(i)
		if err := leaf(ns, vd(i), addr, gw, true); err != nil {
			return err
		}
		for _, t := range []string{tunA(i), tunB(i)} {
			if err := ipn(ctx, rtr, "tuntap", "add", "dev", t, "mode", "tun"); err != nil {
				return err
			}
			if err := ipn(ctx, rtr, "link", "set", t, "up"); err != nil {
				return err
			}
		}
	}
	return sysctl(ctx, rtr, "net.ipv4.conf.all.rp_filter=0")
}

// The router's names for district i's links.
func vd(i int) string   { return "vd" + strconv.Itoa(i) }
func tunA(i int) string { return "ta" + strconv.Itoa(i) }
func tunB(i int) string { return "tb" + strconv.Itoa(i) }

// route sends district i's traffic through its relay: packets from the
// district (in on vd) go into TUN a; the relay writes them to TUN b, from
// where the kernel routes them on. Packets to the district go into TUN b;
// the relay writes them to TUN a, and from there they go out on vd. While
// the link is cut, a blackhole keeps them from looping through the relay.
func (n *network) route(ctx context.Context, i int) error {
	rtr := n.router()
	subnet, _, _ := districtNet(i)
	up, down := strconv.Itoa(100+i), strconv.Itoa(300+i)
	for _, c := range [][]string{
		{"route", "replace", subnet, "dev", tunB(i)},
		{"route", "replace", "default", "dev", tunA(i), "table", up},
		{"route", "replace", subnet, "dev", vd(i), "table", down},
		{"route", "replace", "blackhole", subnet, "table", down, "metric", "1000"},
	} {
		if err := ipn(ctx, rtr, c...); err != nil {
			return err
		}
	}
	for _, r := range [][]string{
		{"rule", "add", "iif", vd(i), "lookup", up, "pref", up},
		{"rule", "add", "iif", tunA(i), "lookup", down, "pref", down},
	} {
		// A rule that already exists (a second call) is fine.
		if err := ipn(ctx, rtr, r...); err != nil && !strings.Contains(err.Error(), "File exists") {
			return err
		}
	}
	return nil
}

// setCut takes district i's link down at the router, or brings it back
// (with its route, which the kernel removed with the link).
func (n *network) setCut(ctx context.Context, i int, cut bool) error {
	if cut {
		return ipn(ctx, n.router(), "link", "set", vd(i), "down")
	}
	if err := ipn(ctx, n.router(), "link", "set", vd(i), "up"); err != nil {
		return err
	}
	_, gw, _ := districtNet(i)
	// The district's own default route went with the carrier on some
	// kernels; put it back if so.
	ipn(ctx, n.district(i), "route", "replace", "default", "via", gw)
	return ipn(ctx, n.router(), "route", "replace", districtNet3(i), "dev", vd(i), "table", strconv.Itoa(300+i))
}

func districtNet3(i int) string { s, _, _ := districtNet(i); return s }

// setLoss rewrites the router's nftables table with every district's loss,
// dropping that percentage of packets in each direction, atomically.
func (n *network) setLoss(ctx context.Context, loss map[int]int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s\nflush table inet %s\n", nftTable, nftTable)
	fmt.Fprintf(&b, "table inet %s {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n", nftTable)
	for i, pct := range loss {
		if pct <= 0 {
			continue
		}
		// Each packet crosses the forward hook twice (vd→TUN, TUN→world
		// and back); matching on vd counts each direction once.
		fmt.Fprintf(&b, "    iifname %q numgen random mod 100 < %d drop\n", vd(i), pct)
		fmt.Fprintf(&b, "    oifname %q numgen random mod 100 < %d drop\n", vd(i), pct)
	}
	b.WriteString("  }\n}\n")
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n.router(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setRate limits district i's link in both directions with tbf, or
// removes the limit for "".
func (n *network) setRate(ctx context.Context, i int, rate string) error {
	for _, end := range []struct{ ns, dev string }{{n.router(), vd(i)}, {n.district(i), "eth0"}} {
		if rate == "" {
			// No qdisc to delete is fine.
			run(ctx, "ip", "netns", "exec", end.ns, "tc", "qdisc", "del", "dev", end.dev, "root")
			continue
		}
		if err := run(ctx, "ip", "netns", "exec", end.ns, "tc", "qdisc", "replace", "dev", end.dev, "root",
			"tbf", "rate", rate, "burst", "32kbit", "latency", "400ms"); err != nil {
			return err
		}
	}
	return nil
}
