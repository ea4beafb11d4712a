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
	"sync"
	"time"
)

const (
	// maxHTTPBody is how much of a body a run reads; the rest is left
	// unread so that a huge download cannot eat a district's link.
	maxHTTPBody = 10 << 20
	// maxRedirects matches net/http's default policy, made explicit.
	maxRedirects = 10
	userAgent    = "jangkau-probe/0"
)

// httpChecker GETs a URL over a new connection each run, so that every
// result includes connect (and TLS) time as a district user would see it.
type httpChecker struct {
	cc     CheckConfig
	client *http.Client
}

var _ Checker = (*httpChecker)(nil)

func newHTTPChecker(cc CheckConfig) (Checker, error) {
	return newHTTPCheckerTLS(cc, nil)
}

// newHTTPCheckerTLS is the seam for tests (and, later, TLS options):
// tlsCfg nil means the system roots.
func newHTTPCheckerTLS(cc CheckConfig, tlsCfg *tls.Config) (*httpChecker, error) {
	u, err := url.Parse(cc.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q must be an absolute http or https URL", cc.Target)
	}
	tr := &http.Transport{
		// No proxy: the check measures the district's own path.
		Proxy:             nil,
		DialContext:       (&net.Dialer{}).DialContext,
		DisableKeepAlives: true,
		TLSClientConfig:   tlsCfg,
	}
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
	return &httpChecker{cc: cc, client: client}, nil
}

// Run GETs the target once. Phases come from the last request of a
// redirect chain.
func (c *httpChecker) Run(ctx context.Context, log *slog.Logger) Result {
	start := time.Now()
	r := startResult(c.cc, start)
	tr := &httpTrace{}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, tr.clientTrace()), http.MethodGet, c.cc.Target, nil)
	if err != nil {
		finish(&r, start, err)
		return r
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		if resp != nil { // a redirect refused: the last response says where
			r.StatusCode = resp.StatusCode
		}
		r.Phases = tr.phases(time.Time{})
		finish(&r, start, err)
		return r
	}
	r.StatusCode = resp.StatusCode
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBody))
	end := time.Now()
	resp.Body.Close()
	r.Phases = tr.phases(end)
	if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 399) {
		err = &statusError{code: resp.StatusCode, status: resp.Status}
	}
	if err == nil {
		r.OK = true
	}
	finish(&r, start, err)
	if err != nil {
		log.Debug("http check failed", "check", c.cc.Name, "target", c.cc.Target, "err", err)
	}
	return r
}

// httpTrace records the moments httptrace reports. The transport dials on
// its own goroutine, which may still report after Run has returned, hence
// the mutex.
type httpTrace struct {
	mu                      sync.Mutex
	dnsStart, dnsDone       time.Time
	connStart, connDone     time.Time
	tlsStart, tlsDone       time.Time
	wroteRequest, firstByte time.Time
}

func (t *httpTrace) set(p *time.Time) func() {
	return func() {
		now := time.Now()
		t.mu.Lock()
		*p = now
		t.mu.Unlock()
	}
}

func (t *httpTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart:     func(httptrace.DNSStartInfo) { t.set(&t.dnsStart)() },
		DNSDone:      func(httptrace.DNSDoneInfo) { t.set(&t.dnsDone)() },
		ConnectStart: func(string, string) { t.set(&t.connStart)() },
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				t.set(&t.connDone)()
			}
		},
		TLSHandshakeStart:    t.set(&t.tlsStart),
		TLSHandshakeDone:     func(tls.ConnectionState, error) { t.set(&t.tlsDone)() },
		WroteRequest:         func(httptrace.WroteRequestInfo) { t.set(&t.wroteRequest)() },
		GotFirstResponseByte: t.set(&t.firstByte),
	}
}

// phases turns the recorded moments into milliseconds; a phase that did
// not complete is absent. end is when the body was read (zero if not).
func (t *httpTrace) phases(end time.Time) map[string]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := make(map[string]float64, 5)
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
	if len(p) == 0 {
		return nil
	}
	return p
}
