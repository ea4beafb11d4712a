package check

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// The Transport path: checks with proxy_url or keep_alive need what only
// net/http's Transport has (CONNECT and SOCKS proxies, a connection
// pool), and pay for its goroutines and channels per request.

// newClient builds the Client of a check that proxies or keeps its
// connection alive; proxy may be nil.
func (c *httpChecker) newClient(proxy *url.URL, keepAlive bool) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{}).DialContext,
		DisableKeepAlives:   !keepAlive,
		TLSClientConfig:     c.tlsBase.Clone(), // the Transport may add to it
		TLSHandshakeTimeout: 0,                 // the run's context bounds it
	}
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > c.maxRedirects {
				return http.ErrUseLastResponse
			}
			if c.redirectAllowed != nil && !c.redirectAllowed(req.URL.Hostname()) {
				return errRedirectOutside(req.URL)
			}
			return nil
		},
	}
}

// runClient is Run through c.client, with phases from httptrace.
func (c *httpChecker) runClient(ctx context.Context, r *wire.Result) error {
	tr := &httpTrace{}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, tr.clientTrace()), c.method, c.cc.Target, body)
	if err != nil {
		return err
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
		return err
	}
	r.StatusCode = resp.StatusCode
	content, err := c.readBody(resp.Body)
	end := time.Now()
	resp.Body.Close()
	r.Phases = tr.phases(end)
	if days, ok := certExpiryDays(resp.TLS, end); ok {
		r.Phases[CertExpiryPhase] = days
	}
	if err != nil {
		return err
	}
	return c.judge(resp, content)
}

// httpTrace records the moments httptrace reports, with time.Now in the
// callbacks themselves so that no scheduling delay of Run enters a phase.
// The transport dials on its own goroutine, which may still report after
// Run has returned, hence the mutex.
type httpTrace struct {
	mu sync.Mutex
	m  httpMoments
}

func (t *httpTrace) set(p *time.Time) {
	now := time.Now()
	t.mu.Lock()
	*p = now
	t.mu.Unlock()
}

func (t *httpTrace) clientTrace() *httptrace.ClientTrace {
	m := &t.m
	return &httptrace.ClientTrace{
		// Each request of a redirect chain starts here: forget the last.
		GetConn: func(string) {
			t.mu.Lock()
			t.m = httpMoments{}
			t.mu.Unlock()
		},
		DNSStart:     func(httptrace.DNSStartInfo) { t.set(&m.dnsStart) },
		DNSDone:      func(httptrace.DNSDoneInfo) { t.set(&m.dnsDone) },
		ConnectStart: func(string, string) { t.set(&m.connStart) },
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				t.set(&m.connDone)
			}
		},
		TLSHandshakeStart: func() { t.set(&m.tlsStart) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				t.set(&m.tlsDone)
			}
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { t.set(&m.wroteRequest) },
		GotFirstResponseByte: func() { t.set(&m.firstByte) },
	}
}

// phases is httpMoments.phases under the lock.
func (t *httpTrace) phases(end time.Time) map[string]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m.phases(end)
}
