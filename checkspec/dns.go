package checkspec

import (
	"fmt"
	"net"
	"strings"

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

// validateDNS checks a dns check's name and its dns block, which it must
// have: the server is required.
func (cc *CheckConfig) validateDNS() error {
	o := cc.DNS
	if o == nil || o.Server == "" {
		return &FieldError{Field: "dns.server", Reason: "is missing (host:port of the resolver to ask)"}
	}
	if host, port, err := net.SplitHostPort(o.Server); err != nil || host == "" || port == "" {
		return quoted("dns.server", o.Server, "must be host:port")
	}
	name, field := o.QueryName, "dns.query_name"
	if name == "" {
		name, field = cc.Target, "target"
	}
	// IsDomainName accepts any bytes; a URL or host:port is a mistake.
	if _, ok := dns.IsDomainName(name); !ok || name == "" || strings.ContainsAny(name, ":/@ \t") {
		return quoted(field, name, "is not a domain name")
	}
	if o.QueryType != "" {
		if _, ok := dns.StringToType[strings.ToUpper(o.QueryType)]; !ok {
			return quoted("dns.query_type", o.QueryType, "is not a DNS record type")
		}
	}
	switch o.Transport {
	case "", "udp", "tcp":
	default:
		return quoted("dns.transport", o.Transport, "is not udp or tcp")
	}
	for i, s := range o.ValidRcodes {
		if _, ok := dns.StringToRcode[strings.ToUpper(s)]; !ok {
			return &FieldError{Field: fmt.Sprintf("dns.valid_rcodes[%d]", i), Value: s, show: "(%q)",
				Reason: "is not a DNS rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)"}
		}
	}
	return validateRegexps("dns.fail_if_none_matches_regexp", o.FailIfNoneMatchesRegexp)
}
