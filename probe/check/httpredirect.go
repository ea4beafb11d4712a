package check

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Redirects on the direct path follow net/http's Client (client.go, Go
// 1.26) rule for rule, so that a check gives the same answer whichever
// path runs it.

// redirectState is what stays decided along a chain: once a hop drops
// the body it is never sent again, and once the chain leaves the first
// host's domain the credentials stay behind.
type redirectState struct {
	includeBody    bool
	stripSensitive bool
}

// errRedirectOutside is a redirect to a host the allow list refuses.
func errRedirectOutside(u *url.URL) error {
	return fmt.Errorf("redirect to %s: host %q is outside allow", u.Redacted(), u.Hostname())
}

// nextHop returns the request that follows resp, the hop-th response of
// the chain, or nil when resp is the answer: not a redirect, a redirect
// without Location, or one beyond max_redirects (which judge then fails
// on its status). Errors are net/http's: a bad Location, a host outside
// allow, a scheme other than http and https.
func (c *httpChecker) nextHop(req *http.Request, resp *http.Response, hop int, rs *redirectState) (*http.Request, error) {
	method, ok, keepBody := redirectBehavior(req.Method, resp.StatusCode)
	if !ok {
		return nil, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, nil
	}
	u, err := req.URL.Parse(loc)
	if err != nil {
		return nil, urlError(c.method, req.URL.Redacted(), fmt.Errorf("failed to parse Location header %q: %w", loc, err))
	}
	if hop >= c.maxRedirects {
		return nil, nil
	}
	if c.redirectAllowed != nil && !c.redirectAllowed(u.Hostname()) {
		return nil, urlError(c.method, loc, errRedirectOutside(u))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, urlError(c.method, u.Redacted(), fmt.Errorf("unsupported protocol scheme %q", u.Scheme))
	}
	rs.includeBody = rs.includeBody && keepBody
	if !rs.stripSensitive && c.url.Host != u.Host && !isDomainOrSubdomain(u.Hostname(), c.url.Hostname()) {
		rs.stripSensitive = true
	}
	next := &http.Request{
		Method: method, URL: u, Header: make(http.Header, len(c.directHeader)+1),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Close: true,
	}
	// A custom Host survives a relative redirect only (go.dev/issue/22233).
	if req.Host != "" && req.Host != req.URL.Host {
		if lu, err := url.Parse(loc); err == nil && !lu.IsAbs() {
			next.Host = req.Host
		}
	}
	if rs.includeBody && c.body != "" {
		next.Body = io.NopCloser(strings.NewReader(c.body))
		next.ContentLength = int64(len(c.body))
	}
	for k, vv := range c.directHeader {
		switch k {
		case "Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization", "Proxy-Authenticate":
			if rs.stripSensitive {
				continue
			}
		case "Content-Encoding", "Content-Language", "Content-Location", "Content-Type":
			if !rs.includeBody {
				continue
			}
		}
		next.Header[k] = vv
	}
	if ref := refererFor(req.URL, u, c.directHeader.Get("Referer")); ref != "" {
		next.Header.Set("Referer", ref)
	}
	return next, nil
}

// redirectBehavior is net/http's: 301, 302 and 303 turn anything but GET
// and HEAD into a GET without body; 307 and 308 keep method and body.
func redirectBehavior(method string, status int) (next string, redirect, keepBody bool) {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != http.MethodGet && method != http.MethodHead {
			method = http.MethodGet
		}
		return method, true, false
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return method, true, true
	}
	return "", false, false
}

// isDomainOrSubdomain reports whether sub is parent or below it; an IP
// address is only itself.
func isDomainOrSubdomain(sub, parent string) bool {
	sub, parent = strings.ToLower(sub), strings.ToLower(parent)
	if sub == parent {
		return true
	}
	if strings.ContainsAny(sub, ":%") {
		return false
	}
	return strings.HasSuffix(sub, "."+parent)
}

// refererFor is the Referer of a hop from last to next: none from https
// to http, the check's own if it set one, else last without user info.
func refererFor(last, next *url.URL, explicit string) string {
	if last.Scheme == "https" && next.Scheme == "http" {
		return ""
	}
	if explicit != "" {
		return explicit
	}
	u := *last
	u.User = nil
	return u.String()
}

// urlError wraps err as net/http's Client does, so that messages read
// the same on both paths: `Get "http://…": …`.
func urlError(method, target string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return err
	}
	op := method[:1] + strings.ToLower(method[1:])
	return &url.Error{Op: op, URL: target, Err: err}
}
