package checkspec

import (
	"fmt"
	"net"
	"time"
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
	// Size is the payload in bytes (default 56, as ping(8); at least 24:
	// the probe's 16-byte tag, a socket nonce and the send time, must fit).
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

// DefaultICMPOptions holds what an icmp block leaves unset.
var DefaultICMPOptions = ICMPOptions{Count: 5, Interval: 200 * time.Millisecond, Size: 56}

const (
	minICMPSize       = 24 // the checker's 16-byte tag and room to spare
	maxICMPSize       = 65507
	maxICMPRecordRTTs = 8 // 16 phases minus sent, received, loss, rtt_*×4, resolve
)

// WithDefaults is the block with DefaultICMPOptions in what it leaves
// unset; a nil block is the defaults.
func (o *ICMPOptions) WithDefaults() ICMPOptions {
	d := DefaultICMPOptions
	if o == nil {
		return d
	}
	d.DontFragment, d.IPProtocol, d.RecordRTTs = o.DontFragment, o.IPProtocol, o.RecordRTTs
	if o.Count != 0 {
		d.Count = o.Count
	}
	if o.Interval != 0 {
		d.Interval = o.Interval
	}
	if o.Size != 0 {
		d.Size = o.Size
	}
	return d
}

// Network is the address family the block asks for: ip (auto), ip4 or ip6.
func (o ICMPOptions) Network() string {
	if o.IPProtocol == "" || o.IPProtocol == "auto" {
		return "ip"
	}
	return o.IPProtocol
}

// validateICMP checks an icmp check's host target and its icmp block,
// with the defaults applied (the block must fit the check's timeout).
func (cc *CheckConfig) validateICMP() error {
	o := cc.ICMP.WithDefaults()
	switch {
	case o.Count < 1 || o.Count > 1000:
		return inParens("icmp.count", o.Count, "must be within 1..1000")
	case o.Interval < time.Millisecond:
		return inParens("icmp.interval", o.Interval, "must be at least 1ms")
	case time.Duration(o.Count)*o.Interval >= cc.Timeout:
		return inParens("icmp.count", o.Count, fmt.Sprintf("× icmp.interval (%s) must be shorter than timeout (%s)", o.Interval, cc.Timeout))
	case o.Size < minICMPSize || o.Size > maxICMPSize:
		return inParens("icmp.size", o.Size, fmt.Sprintf("must be within %d..%d", minICMPSize, maxICMPSize))
	case o.RecordRTTs && o.Count > maxICMPRecordRTTs:
		return &FieldError{Field: "icmp.record_rtts", Reason: fmt.Sprintf("needs count ≤ %d (16 phases per result); count is %d", maxICMPRecordRTTs, o.Count)}
	}
	switch o.IPProtocol {
	case "", "auto", "ip4", "ip6":
	default:
		return quoted("icmp.ip_protocol", o.IPProtocol, "is not ip4, ip6 or auto")
	}
	if _, _, err := net.SplitHostPort(cc.Target); err == nil || cc.Target == "" {
		return quoted("target", cc.Target, "must be a host name or an IP address, without a port")
	}
	if ip := net.ParseIP(cc.Target); ip != nil {
		if network := o.Network(); (network == "ip4" && ip.To4() == nil) || (network == "ip6" && ip.To4() != nil) {
			return quoted("target", cc.Target, "is not an address of icmp.ip_protocol "+network)
		}
	}
	return nil
}
