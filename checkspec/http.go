package checkspec

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// DefaultMaxRedirects is http.max_redirects when unset; it matches
// net/http's own policy.
const DefaultMaxRedirects = 10

// HTTPOptions is the `http:` block of a check (blackbox_exporter's
// http prober options, renamed where jangkau's are shorter).
type HTTPOptions struct {
	// Method defaults to GET.
	Method  string            `yaml:"method,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty"`
	Body    string            `yaml:"body,omitempty"`
	// ValidStatusCodes are the statuses that count as success; empty
	// means 200-299. The status of the last response counts.
	ValidStatusCodes []int `yaml:"valid_status_codes,omitempty"`
	// FailIfBodyMatches fails the check (class "body") when any of these
	// regular expressions matches the body; FailIfBodyNotMatches when any
	// of them does not. They see the first 10 MiB of the body.
	FailIfBodyMatches    []string `yaml:"fail_if_body_matches,omitempty"`
	FailIfBodyNotMatches []string `yaml:"fail_if_body_not_matches,omitempty"`
	// MaxRedirects is how many redirects are followed (default 10; 0: none).
	// A redirect beyond it is not an error of its own: the redirect is
	// the last response and its status is judged (class "status" unless
	// valid_status_codes lists it).
	MaxRedirects *int `yaml:"max_redirects,omitempty"`
	// TLS configures https targets.
	TLS *TLSOptions `yaml:"tls,omitempty"`
	// ProxyURL sends the request through this proxy (http, https or
	// socks5); by default there is none, not even the environment's,
	// because a check measures the district's own path.
	ProxyURL string `yaml:"proxy_url,omitempty"`
	// KeepAlive reuses a connection across runs. The default opens a new
	// one each run, so connect and TLS are measured as a new visitor's.
	KeepAlive bool `yaml:"keep_alive,omitempty"`
}

var methodRE = regexp.MustCompile(`^[A-Z]+$`)

// validateHTTP checks an http check's target URL and its http block.
func (cc *CheckConfig) validateHTTP() error {
	u, err := url.Parse(cc.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return quoted("target", cc.Target, "must be an absolute http or https URL")
	}
	if cc.HTTP == nil {
		return nil
	}
	return cc.HTTP.validate()
}

func (o *HTTPOptions) validate() error {
	if o.Method != "" && !methodRE.MatchString(o.Method) {
		return quoted("http.method", o.Method, "must be an upper-case HTTP method")
	}
	for name, v := range o.Headers {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") || strings.ContainsAny(v, "\r\n") {
			return &FieldError{Field: fmt.Sprintf("http.headers[%q]", name), Reason: "is not a valid header"}
		}
	}
	for i, code := range o.ValidStatusCodes {
		if code < 100 || code > 599 {
			return inParens(fmt.Sprintf("http.valid_status_codes[%d]", i), code, "is not an HTTP status")
		}
	}
	if err := validateRegexps("http.fail_if_body_matches", o.FailIfBodyMatches); err != nil {
		return err
	}
	if err := validateRegexps("http.fail_if_body_not_matches", o.FailIfBodyNotMatches); err != nil {
		return err
	}
	if o.MaxRedirects != nil && *o.MaxRedirects < 0 {
		return inParens("http.max_redirects", *o.MaxRedirects, "must not be negative")
	}
	if err := o.TLS.validate("http.tls"); err != nil {
		return err
	}
	if o.ProxyURL != "" {
		p, err := url.Parse(o.ProxyURL)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https" && p.Scheme != "socks5") || p.Host == "" {
			return quoted("http.proxy_url", o.ProxyURL, "must be an http, https or socks5 URL")
		}
	}
	return nil
}

// Redirects is how many redirects a check follows: max_redirects, or
// DefaultMaxRedirects when unset.
func (o *HTTPOptions) Redirects() int {
	if o == nil || o.MaxRedirects == nil {
		return DefaultMaxRedirects
	}
	return *o.MaxRedirects
}
