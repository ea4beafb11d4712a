package check

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
	"github.com/miekg/dns"
)

// dnsChecker sends one query per run over a new socket.
type dnsChecker struct {
	cc      checkspec.CheckConfig
	server  string
	client  *dns.Client
	qname   string
	qtype   uint16
	rd      bool
	rcodes  []int
	answers []*regexp.Regexp
}

var _ Checker = (*dnsChecker)(nil)

// newDNS validates cc with checkspec and builds its checker: the
// query, the rcodes and the answer regexes parsed once.
func newDNS(cc checkspec.CheckConfig) (*dnsChecker, error) {
	if err := cc.ValidateAs(wire.KindDNS); err != nil {
		return nil, err
	}
	o := cc.DNS
	c := &dnsChecker{cc: cc, server: o.Server, qtype: dns.TypeA, rd: true, rcodes: []int{dns.RcodeSuccess}}
	name := o.QueryName
	if name == "" {
		name = cc.Target
	}
	c.qname = dns.Fqdn(name)
	if o.QueryType != "" {
		c.qtype = dns.StringToType[strings.ToUpper(o.QueryType)]
	}
	network := "udp"
	if o.Transport == "tcp" {
		network = "tcp"
	}
	if len(o.ValidRcodes) > 0 {
		c.rcodes = c.rcodes[:0]
		for _, s := range o.ValidRcodes {
			c.rcodes = append(c.rcodes, dns.StringToRcode[strings.ToUpper(s)])
		}
	}
	c.answers = mustCompileAll(o.FailIfNoneMatchesRegexp)
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
