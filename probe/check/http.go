package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/wire"
)

const (
	// maxHTTPBody is how much of a body a run reads; the rest is left
	// unread so that a huge download cannot eat a district's link.
	maxHTTPBody = 10 << 20
	// UserAgent is what the probe sends in its requests: the checks',
	// and, from the probe itself, the collector's.
	UserAgent = "jangkau-probe/0"
)

// httpChecker sends one request per run; everything it needs was parsed
// and compiled by newHTTP. The default run (no proxy_url, no
// keep_alive) goes by hand over one connection on the run's own
// goroutine (httpconn.go); only proxying and pooling take net/http's
// Client (httpclient.go), built only for those checks.
type httpChecker struct {
	cc checkspec.CheckConfig
	// redirectAllowed, when set, admits the host of each redirect.
	redirectAllowed func(host string) bool
	// client is nil unless proxy_url or keep_alive asks for a Transport.
	client *http.Client
	// lookup resolves a target's host name on the direct path; a seam
	// for tests, net.DefaultResolver otherwise (what net.Dialer uses).
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
	// dialer sends no TCP keep-alive probes: a connection lives at most
	// a run, and the four setsockopt calls per dial showed in profiles.
	dialer net.Dialer
	url    *url.URL
	method string
	header http.Header // as configured; the Transport path's request
	// directHeader is header plus the Accept-Encoding net/http's
	// Transport would add; requests share it read-only.
	directHeader http.Header
	addedGzip    bool   // directHeader asks for gzip on our own behalf
	host         string // a Host header, which net/http takes from req.Host
	body         string
	valid        []int // empty: 2xx
	failMatch    []*regexp.Regexp
	failNoMatch  []*regexp.Regexp
	maxRedirects int
	// tlsBase is the tls option block's config, shared by every check
	// without one; tlsTarget adds the target's SNI and exists for https
	// targets only.
	tlsBase, tlsTarget *tls.Config
	bufs               *httpBufs // the direct path's, shared with the Kinds' other checks
}

var _ Checker = (*httpChecker)(nil)

// newHTTP validates cc with checkspec and builds its checker:
// the URL parsed, the regexes compiled and the TLS config loaded once.
func (e *env) newHTTP(cc checkspec.CheckConfig) (*httpChecker, error) {
	if err := cc.ValidateAs(wire.KindHTTP); err != nil {
		return nil, err
	}
	u, err := url.Parse(cc.Target)
	if err != nil {
		return nil, err // validated: not reached
	}
	o := cc.HTTP
	if o == nil {
		o = &checkspec.HTTPOptions{}
	}
	c := &httpChecker{cc: cc, url: u, method: http.MethodGet, header: http.Header{}, body: o.Body,
		maxRedirects: o.Redirects(), lookup: net.DefaultResolver.LookupNetIP, dialer: net.Dialer{KeepAlive: -1},
		redirectAllowed: e.redirectAllowed, bufs: &e.bufs}
	if o.Method != "" {
		c.method = o.Method
	}
	for name, v := range o.Headers {
		if http.CanonicalHeaderKey(name) == "Host" {
			c.host = v
			continue
		}
		c.header.Set(name, v)
	}
	if c.header.Get("User-Agent") == "" {
		c.header.Set("User-Agent", UserAgent)
	}
	c.valid = o.ValidStatusCodes
	c.failMatch = mustCompileAll(o.FailIfBodyMatches)
	c.failNoMatch = mustCompileAll(o.FailIfBodyNotMatches)
	if c.tlsBase, err = e.sharedTLS(o.TLS, "http.tls"); err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		c.tlsTarget = withServerName(c.tlsBase, u.Hostname())
	}
	c.directHeader, c.addedGzip = directHeader(c.header, c.method)
	var proxy *url.URL
	if o.ProxyURL != "" {
		if proxy, err = url.Parse(o.ProxyURL); err != nil {
			return nil, err // validated: not reached
		}
	}
	if proxy != nil || o.KeepAlive {
		c.client = c.newClient(proxy, o.KeepAlive)
	}
	return c, nil
}

// mustCompileAll compiles expressions checkspec has validated.
func mustCompileAll(exprs []string) []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(exprs))
	for i, e := range exprs {
		res[i] = regexp.MustCompile(e)
	}
	return res
}

// Run sends the request once. Phases come from the last request of a
// redirect chain, and the certificate is that of the last response.
func (c *httpChecker) Run(ctx context.Context, log *slog.Logger) wire.Result {
	start := time.Now()
	r := startResult(c.cc, start)
	var err error
	if c.client != nil {
		err = c.runClient(ctx, &r)
	} else {
		err = c.runDirect(ctx, &r)
	}
	r.OK = err == nil
	finish(&r, start, err)
	if err != nil {
		log.Debug("http check failed", "check", c.cc.Name, "target", c.cc.Target, "err", err)
	}
	return r
}

// wantsBody says whether a run keeps the body: only the body regexes
// read it; otherwise it is drained and dropped.
func (c *httpChecker) wantsBody() bool {
	return len(c.failMatch)+len(c.failNoMatch) > 0
}

// readBody reads up to maxHTTPBody of body, keeping it when wantsBody.
func (c *httpChecker) readBody(body io.Reader) ([]byte, error) {
	lr := io.LimitReader(body, maxHTTPBody)
	if c.wantsBody() {
		content, err := io.ReadAll(lr)
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return content, nil
	}
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return nil, nil
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

// httpMoments are the moments of one request of a chain; a zero moment
// is a step that did not happen (no resolve for an IP literal, no tls
// for http).
type httpMoments struct {
	dnsStart, dnsDone       time.Time
	connStart, connDone     time.Time
	tlsStart, tlsDone       time.Time
	wroteRequest, firstByte time.Time
}

// phases turns the moments into milliseconds; a phase that did not
// complete is absent. end is when the body was read (zero if not).
func (m *httpMoments) phases(end time.Time) map[string]float64 {
	p := make(map[string]float64, 6)
	span := func(name string, from, to time.Time) {
		if !from.IsZero() && !to.IsZero() && !to.Before(from) {
			p[name] = ms(to.Sub(from))
		}
	}
	span("resolve", m.dnsStart, m.dnsDone)
	span("connect", m.connStart, m.connDone)
	span("tls", m.tlsStart, m.tlsDone)
	span("processing", m.wroteRequest, m.firstByte)
	span("transfer", m.firstByte, end)
	return p
}
