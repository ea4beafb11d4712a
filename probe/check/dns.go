package check

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jangkau/jangkau/wire"
	"github.com/miekg/dns"
)

// DNSOptions is the `dns:` block of a check. The check's target is the
// name asked about (a district's view of an e-service's name); the
// server is the resolver asked, given here because it differs per
// district (the ISP's, the office's own, a public one).
type DNSOptions struct {
	// Server is the resolver, host:port. Required: the system resolver
	// would hide which server answered.
	Server string `yaml:"server"`
	// QueryName defaults to the check's target; set it when the target
	// should read differently from the name (for example "portal MX").
	QueryName string `yaml:"query_name,omitempty"`
	// QueryType is a record type name: A (default), AAAA, MX, TXT, NS,
	// CNAME, SOA, PTR, SRV, CAA, ...
	QueryType string `yaml:"query_type,omitempty"`
	// Transport is udp (default) or tcp.
	Transport string `yaml:"transport,omitempty"`
	// ValidRcodes are the response codes that count as success (default
	// NOERROR); an answer with another one fails with class "dns".
	ValidRcodes []string `yaml:"valid_rcodes,omitempty"`
	// FailIfNoneMatchesRegexp: each expression must match the text of at
	// least one answer record (as in a zone file: "portal.example. 300 IN
	// A 10.0.0.1"), or the check fails with class "dns".
	FailIfNoneMatchesRegexp []string `yaml:"fail_if_none_matches_regexp,omitempty"`
	// RecursionDesired sets the RD bit (default true); false asks an
	// authoritative server about its own zone only.
	RecursionDesired *bool `yaml:"recursion_desired,omitempty"`
}

// dnsChecker sends one query per run over a new socket.
type dnsChecker struct {
	cc      CheckConfig
	server  string
	client  *dns.Client
	qname   string
	qtype   uint16
	rd      bool
	rcodes  []int
	answers []*regexp.Regexp
}

var _ Checker = (*dnsChecker)(nil)

func newDNSChecker(cc CheckConfig) (Checker, error) {
	o := cc.DNS
	if o == nil || o.Server == "" {
		return nil, fmt.Errorf("dns.server is missing (host:port of the resolver to ask)")
	}
	if host, port, err := net.SplitHostPort(o.Server); err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("dns.server %q must be host:port", o.Server)
	}
	c := &dnsChecker{cc: cc, server: o.Server, qtype: dns.TypeA, rd: true, rcodes: []int{dns.RcodeSuccess}}
	name, field := o.QueryName, "dns.query_name"
	if name == "" {
		name, field = cc.Target, "target"
	}
	// IsDomainName accepts any bytes; a URL or host:port is a mistake.
	if _, ok := dns.IsDomainName(name); !ok || name == "" || strings.ContainsAny(name, ":/@ \t") {
		return nil, fmt.Errorf("%s %q is not a domain name", field, name)
	}
	c.qname = dns.Fqdn(name)
	if o.QueryType != "" {
		t, ok := dns.StringToType[strings.ToUpper(o.QueryType)]
		if !ok {
			return nil, fmt.Errorf("dns.query_type %q is not a DNS record type", o.QueryType)
		}
		c.qtype = t
	}
	network := "udp"
	switch o.Transport {
	case "", "udp":
	case "tcp":
		network = "tcp"
	default:
		return nil, fmt.Errorf("dns.transport %q is not udp or tcp", o.Transport)
	}
	if len(o.ValidRcodes) > 0 {
		c.rcodes = c.rcodes[:0]
		for i, s := range o.ValidRcodes {
			rc, ok := dns.StringToRcode[strings.ToUpper(s)]
			if !ok {
				return nil, fmt.Errorf("dns.valid_rcodes[%d] (%q) is not a DNS rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)", i, s)
			}
			c.rcodes = append(c.rcodes, rc)
		}
	}
	var err error
	if c.answers, err = compileAll("dns.fail_if_none_matches_regexp", o.FailIfNoneMatchesRegexp); err != nil {
		return nil, err
	}
	if o.RecursionDesired != nil {
		c.rd = *o.RecursionDesired
	}
	// Timeout only stands back: the run's context sets the real deadline,
	// and miekg/dns would otherwise stop reading after its own 2 s.
	c.client = &dns.Client{Net: network, Timeout: cc.Timeout}
	return c, nil
}

// Run asks once. DurationMS is the exchange's round trip (write to
// answer, without the dial), phases "exchange" (the same), "rcode" (its
// number) and "answers" (how many records came back).
func (c *dnsChecker) Run(ctx context.Context, log *slog.Logger) wire.Result {
	start := time.Now()
	r := startResult(c.cc, start)
	m := new(dns.Msg)
	m.SetQuestion(c.qname, c.qtype)
	m.RecursionDesired = c.rd
	resp, rtt, err := c.client.ExchangeContext(ctx, m, c.server)
	if err == nil {
		r.Phases = map[string]float64{
			"exchange": ms(rtt),
			"rcode":    float64(resp.Rcode),
			"answers":  float64(len(resp.Answer)),
		}
		err = c.judge(resp)
	}
	r.OK = err == nil
	finish(&r, start, err)
	if r.Phases != nil {
		r.DurationMS = ms(rtt)
	}
	if err != nil {
		log.Debug("dns check failed", "check", c.cc.Name, "target", c.cc.Target, "server", c.server, "err", err)
	}
	return r
}

// judge applies valid_rcodes and fail_if_none_matches_regexp.
func (c *dnsChecker) judge(resp *dns.Msg) error {
	if !slices.Contains(c.rcodes, resp.Rcode) {
		return &dnsAnswerError{msg: fmt.Sprintf("rcode %s for %s %s from %s is not in valid_rcodes",
			dns.RcodeToString[resp.Rcode], c.qname, dns.TypeToString[c.qtype], c.server)}
	}
	if len(c.answers) == 0 {
		return nil
	}
	texts := make([]string, len(resp.Answer))
	for i, rr := range resp.Answer {
		texts[i] = rr.String()
	}
	for _, re := range c.answers {
		if !slices.ContainsFunc(texts, re.MatchString) {
			return &dnsAnswerError{msg: fmt.Sprintf("no answer record matches %q (%d records)", re.String(), len(texts))}
		}
	}
	return nil
}
