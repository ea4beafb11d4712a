package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// maxHTTPBody is how much of a body a run reads; the rest is left
	// unread so that a huge download cannot eat a district's link.
	maxHTTPBody = 10 << 20
	// defaultMaxRedirects matches net/http's own policy.
	defaultMaxRedirects = 10
	userAgent           = "jangkau-probe/0"
)

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

// httpChecker sends one request per run; everything it needs was parsed
// and compiled by newHTTPChecker.
type httpChecker struct {
	cc CheckConfig
	// redirectAllowed, when set, admits the host of each redirect.
	redirectAllowed func(host string) bool
	client          *http.Client
	method          string
	header          http.Header
	host            string // a Host header, which net/http takes from req.Host
	body            string
	valid           []int // empty: 2xx
	failMatch       []*regexp.Regexp
	failNoMatch     []*regexp.Regexp
	maxRedirects    int
}

var _ Checker = (*httpChecker)(nil)

var methodRE = regexp.MustCompile(`^[A-Z]+$`)

func newHTTPChecker(cc CheckConfig) (Checker, error) {
	return newHTTPCheckerFrom(cc)
}

// newHTTPCheckerFrom validates and compiles cc's http block; tests use
// it for the concrete type.
func newHTTPCheckerFrom(cc CheckConfig) (*httpChecker, error) {
	u, err := url.Parse(cc.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q must be an absolute http or https URL", cc.Target)
	}
	o := cc.HTTP
	if o == nil {
		o = &HTTPOptions{}
	}
	c := &httpChecker{cc: cc, method: http.MethodGet, header: http.Header{}, body: o.Body, maxRedirects: defaultMaxRedirects}
	if o.Method != "" {
		if !methodRE.MatchString(o.Method) {
			return nil, fmt.Errorf("http.method %q must be an upper-case HTTP method", o.Method)
		}
		c.method = o.Method
	}
	for name, v := range o.Headers {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("http.headers[%q] is not a valid header", name)
		}
		if http.CanonicalHeaderKey(name) == "Host" {
			c.host = v
			continue
		}
		c.header.Set(name, v)
	}
	if c.header.Get("User-Agent") == "" {
		c.header.Set("User-Agent", userAgent)
	}
	for i, code := range o.ValidStatusCodes {
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("http.valid_status_codes[%d] (%d) is not an HTTP status", i, code)
		}
	}
	c.valid = o.ValidStatusCodes
	if c.failMatch, err = compileAll("http.fail_if_body_matches", o.FailIfBodyMatches); err != nil {
		return nil, err
	}
	if c.failNoMatch, err = compileAll("http.fail_if_body_not_matches", o.FailIfBodyNotMatches); err != nil {
		return nil, err
	}
	if o.MaxRedirects != nil {
		if *o.MaxRedirects < 0 {
			return nil, fmt.Errorf("http.max_redirects (%d) must not be negative", *o.MaxRedirects)
		}
		c.maxRedirects = *o.MaxRedirects
	}
	tlsCfg, err := o.TLS.build("http.tls")
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{}).DialContext,
		DisableKeepAlives:   !o.KeepAlive,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 0, // the run's context bounds it
	}
	if o.ProxyURL != "" {
		pu, err := url.Parse(o.ProxyURL)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https" && pu.Scheme != "socks5") || pu.Host == "" {
			return nil, fmt.Errorf("http.proxy_url %q must be an http, https or socks5 URL", o.ProxyURL)
		}
		tr.Proxy = http.ProxyURL(pu)
	}
	c.client = &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > c.maxRedirects {
				return http.ErrUseLastResponse
			}
			if c.redirectAllowed != nil && !c.redirectAllowed(req.URL.Hostname()) {
				return fmt.Errorf("redirect to %s: host %q is outside allow", req.URL.Redacted(), req.URL.Hostname())
			}
			return nil
		},
	}
	return c, nil
}

// Run sends the request once. Phases come from the last request of a
// redirect chain, and the certificate is that of the last response.
func (c *httpChecker) Run(ctx context.Context, log *slog.Logger) Result {
	start := time.Now()
	r := startResult(c.cc, start)
	tr := &httpTrace{}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, tr.clientTrace()), c.method, c.cc.Target, body)
	if err != nil {
		finish(&r, start, err)
		return r
	}
	req.Header = c.header.Clone()
	if c.host != "" {
		req.Host = c.host
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if p := tr.phases(time.Time{}); len(p) > 0 {
			r.Phases = p
		}
		finish(&r, start, err)
		log.Debug("http check failed", "check", c.cc.Name, "target", c.cc.Target, "err", err)
		return r
	}
	r.StatusCode = resp.StatusCode
	var content []byte
	if len(c.failMatch)+len(c.failNoMatch) > 0 {
		content, err = io.ReadAll(io.LimitReader(resp.Body, maxHTTPBody))
	} else {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBody))
	}
	end := time.Now()
	resp.Body.Close()
	r.Phases = tr.phases(end)
	if days, ok := certExpiryDays(resp.TLS, end); ok {
		r.Phases[certExpiryPhase] = days
	}
	if err == nil {
		err = c.judge(resp, content)
	}
	r.OK = err == nil
	finish(&r, start, err)
	if err != nil {
		log.Debug("http check failed", "check", c.cc.Name, "target", c.cc.Target, "err", err)
	}
	return r
}

// judge applies valid_status_codes and the body expressions.
func (c *httpChecker) judge(resp *http.Response, content []byte) error {
	if !c.validStatus(resp.StatusCode) {
		e := &statusError{code: resp.StatusCode, status: resp.Status}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
			e.note = fmt.Sprintf("redirects are followed at most max_redirects (%d) times", c.maxRedirects)
		}
		return e
	}
	for _, re := range c.failMatch {
		if re.Match(content) {
			return &bodyError{pattern: re.String(), matched: true}
		}
	}
	for _, re := range c.failNoMatch {
		if !re.Match(content) {
			return &bodyError{pattern: re.String(), matched: false}
		}
	}
	return nil
}

func (c *httpChecker) validStatus(code int) bool {
	if len(c.valid) == 0 {
		return code >= 200 && code <= 299
	}
	return slices.Contains(c.valid, code)
}

// httpTrace records the moments httptrace reports, with time.Now in the
// callbacks themselves so that no scheduling delay of Run enters a phase.
// The transport dials on its own goroutine, which may still report after
// Run has returned, hence the mutex.
type httpTrace struct {
	mu                      sync.Mutex
	dnsStart, dnsDone       time.Time
	connStart, connDone     time.Time
	tlsStart, tlsDone       time.Time
	wroteRequest, firstByte time.Time
}

func (t *httpTrace) set(p *time.Time) {
	now := time.Now()
	t.mu.Lock()
	*p = now
	t.mu.Unlock()
}

func (t *httpTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		// Each request of a redirect chain starts here: forget the last.
		GetConn: func(string) {
			t.mu.Lock()
			t.dnsStart, t.dnsDone, t.connStart, t.connDone = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			t.tlsStart, t.tlsDone, t.wroteRequest, t.firstByte = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			t.mu.Unlock()
		},
		DNSStart:     func(httptrace.DNSStartInfo) { t.set(&t.dnsStart) },
		DNSDone:      func(httptrace.DNSDoneInfo) { t.set(&t.dnsDone) },
		ConnectStart: func(string, string) { t.set(&t.connStart) },
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				t.set(&t.connDone)
			}
		},
		TLSHandshakeStart: func() { t.set(&t.tlsStart) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				t.set(&t.tlsDone)
			}
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { t.set(&t.wroteRequest) },
		GotFirstResponseByte: func() { t.set(&t.firstByte) },
	}
}

// phases turns the recorded moments into milliseconds; a phase that did
// not complete is absent. end is when the body was read (zero if not).
func (t *httpTrace) phases(end time.Time) map[string]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := make(map[string]float64, 6)
	span := func(name string, from, to time.Time) {
		if !from.IsZero() && !to.IsZero() && !to.Before(from) {
			p[name] = ms(to.Sub(from))
		}
	}
	span("resolve", t.dnsStart, t.dnsDone)
	span("connect", t.connStart, t.connDone)
	span("tls", t.tlsStart, t.tlsDone)
	span("processing", t.wroteRequest, t.firstByte)
	span("transfer", t.firstByte, end)
	return p
}
