package check

import (
	"bufio"
	"compress/gzip"
	"context"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check/checktest"
	"github.com/jangkau/jangkau/wire"
)

// viaTransport is c made to run through net/http's Transport without
// keep-alive: the path a check without proxy_url and keep_alive took
// before the direct one.
func viaTransport(t *testing.T, c *httpChecker) *httpChecker {
	t.Helper()
	tc := *c
	tc.client = tc.newClient(nil, false)
	return &tc
}

// closingServer accepts, reads the request head and hangs up without
// answering.
func closingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(conn)
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// TestHTTPPathsAgree runs each case on the direct path and through the
// Transport: both must give the same outcome, status, class and set of
// phases, so that a check means the same whichever path it takes.
func TestHTTPPathsAgree(t *testing.T) {
	pki := newTestPKI(t)
	now := time.Now()
	secure := tlsServer(t, checktest.Mux(), pki.leaf(t, now.Add(-time.Hour), now.Add(30*24*time.Hour)))
	var sawGzip atomic.Bool
	mux := checktest.Mux()
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			w.Write([]byte("plain"))
			return
		}
		sawGzip.Store(true)
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write([]byte("Selamat datang di portal"))
		zw.Close()
	})
	mux.HandleFunc("/gzip-empty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/to-https", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, secure.URL+"/ok", http.StatusFound)
	})
	mux.HandleFunc("/see-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/echo", http.StatusSeeOther)
	})
	mux.HandleFunc("/temporary", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/echo", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/bad-location", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://[::1%zz/")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://127.0.0.1/file", http.StatusFound)
	})
	mux.HandleFunc("/no-location", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closing := closingServer(t)
	tlsOpts := &checkspec.TLSOptions{CAFile: pki.caFile}

	tests := []struct {
		name      string
		target    string
		opts      *checkspec.HTTPOptions
		wantOK    bool
		wantClass wire.ErrorClass
		wantErr   string
	}{
		{name: "ok", target: srv.URL + "/ok", wantOK: true},
		{name: "https", target: secure.URL + "/ok", opts: &checkspec.HTTPOptions{TLS: tlsOpts}, wantOK: true},
		{name: "http to https", target: srv.URL + "/to-https", opts: &checkspec.HTTPOptions{TLS: tlsOpts}, wantOK: true},
		{name: "http to https, unknown CA", target: srv.URL + "/to-https", wantClass: wire.ClassTLS},
		{name: "gzip body regex", target: srv.URL + "/gzip", opts: &checkspec.HTTPOptions{FailIfBodyNotMatches: []string{"^Selamat datang"}}, wantOK: true},
		{name: "gzip, empty", target: srv.URL + "/gzip-empty", opts: &checkspec.HTTPOptions{FailIfBodyMatches: []string{"x"}}, wantOK: true},
		{name: "own Accept-Encoding", target: srv.URL + "/gzip", opts: &checkspec.HTTPOptions{Headers: map[string]string{"Accept-Encoding": "identity"},
			FailIfBodyNotMatches: []string{"^plain$"}}, wantOK: true},
		{name: "303 turns POST into GET", target: srv.URL + "/see-other", opts: &checkspec.HTTPOptions{Method: "POST", Body: "a=1",
			FailIfBodyNotMatches: []string{`^GET /echo host=127\.0\.0\.1:\d+ x-key= ua=jangkau-probe/0 body=$`}}, wantOK: true},
		{name: "307 keeps POST and body, relative keeps Host", target: srv.URL + "/temporary", opts: &checkspec.HTTPOptions{Method: "POST", Body: "a=1",
			Headers: map[string]string{"Host": "portal.test"}, FailIfBodyNotMatches: []string{`^POST /echo host=portal.test x-key= ua=jangkau-probe/0 body=a=1$`}}, wantOK: true},
		{name: "HEAD", target: srv.URL + "/ok", opts: &checkspec.HTTPOptions{Method: "HEAD"}, wantOK: true},
		{name: "bad Location", target: srv.URL + "/bad-location", wantClass: wire.ClassOther, wantErr: "failed to parse Location header"},
		{name: "redirect to ftp", target: srv.URL + "/ftp", wantClass: wire.ClassOther, wantErr: `unsupported protocol scheme "ftp"`},
		{name: "302 without Location", target: srv.URL + "/no-location", opts: &checkspec.HTTPOptions{ValidStatusCodes: []int{302}}, wantOK: true},
		{name: "closed before answering", target: "http://" + closing + "/", wantClass: wire.ClassReset},
		{name: "refused", target: "http://" + checktest.DeadAddr(t) + "/", wantClass: wire.ClassRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: tc.name, Kind: wire.KindHTTP, Target: tc.target, Timeout: 5 * time.Second, HTTP: tc.opts})
			if err != nil {
				t.Fatal(err)
			}
			if c.client != nil {
				t.Fatal("a check without proxy_url or keep_alive built a Transport")
			}
			direct, viaTr := runCheck(t, c, 5*time.Second), runCheck(t, viaTransport(t, c), 5*time.Second)
			for _, r := range []struct {
				path string
				r    wire.Result
			}{{"direct", direct}, {"transport", viaTr}} {
				if r.r.OK != tc.wantOK || r.r.ErrorClass != tc.wantClass || !strings.Contains(r.r.Error, tc.wantErr) {
					t.Errorf("%s: ok=%v class=%q err=%q, want ok=%v class=%q err containing %q",
						r.path, r.r.OK, r.r.ErrorClass, r.r.Error, tc.wantOK, tc.wantClass, tc.wantErr)
				}
			}
			if direct.StatusCode != viaTr.StatusCode {
				t.Errorf("status: direct %d, transport %d", direct.StatusCode, viaTr.StatusCode)
			}
			if d, tr := slices.Sorted(maps.Keys(direct.Phases)), slices.Sorted(maps.Keys(viaTr.Phases)); !slices.Equal(d, tr) {
				t.Errorf("phases: direct %v, transport %v", d, tr)
			}
			if tc.name == "http to https" {
				if _, ok := direct.Phases["tls"]; !ok {
					t.Errorf("no tls phase after a redirect to https: %v", direct.Phases)
				}
			}
		})
	}
	if !sawGzip.Load() {
		t.Error("the server never saw Accept-Encoding: gzip")
	}
}

// TestHTTPRedirectOutsideAllow: a redirect to a host the allow list
// refuses fails the run on both paths, and that host is never contacted.
func TestHTTPRedirectOutsideAllow(t *testing.T) {
	near, outside := checktest.RedirectOutside(t, http.StatusMovedPermanently)
	c, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "r", Kind: wire.KindHTTP, Target: near.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	c.redirectAllowed = func(host string) bool { return host == "127.0.0.1" }
	for _, cc := range []*httpChecker{c, viaTransport(t, c)} {
		r := runCheck(t, cc, 5*time.Second)
		if r.OK || r.ErrorClass != wire.ClassOther || !strings.Contains(r.Error, `host "127.0.0.2" is outside allow`) {
			t.Errorf("transport=%v: ok=%v class=%q error %q", cc.client != nil, r.OK, r.ErrorClass, r.Error)
		}
		if _, ok := r.Phases["processing"]; !ok {
			t.Errorf("transport=%v: phases %v, want the refused hop's", cc.client != nil, r.Phases)
		}
	}
	if n := outside.Load(); n != 0 {
		t.Errorf("the server outside allow got %d requests", n)
	}
}

// TestHTTPDirectResolve: a host name is resolved by the checker's own
// lookup (a seam here: nothing leaves loopback), timed as "resolve", and
// its addresses are tried in turn.
func TestHTTPDirectResolve(t *testing.T) {
	srv := httptest.NewServer(checktest.Mux())
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	tests := []struct {
		name      string
		addrs     []string
		lookupErr error
		wantOK    bool
		wantClass wire.ErrorClass
	}{
		{name: "one address", addrs: []string{"127.0.0.1"}, wantOK: true},
		{name: "first refused, second answers", addrs: []string{"127.0.0.3", "127.0.0.1"}, wantOK: true},
		{name: "all refused", addrs: []string{"127.0.0.3"}, wantClass: wire.ClassRefused},
		{name: "no such host", lookupErr: &net.DNSError{Err: "no such host", Name: "portal.test", IsNotFound: true}, wantClass: wire.ClassDNS},
		{name: "no addresses", addrs: []string{}, wantClass: wire.ClassDNS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "n", Kind: wire.KindHTTP, Target: "http://portal.test:" + port + "/echo",
				HTTP: &checkspec.HTTPOptions{FailIfBodyNotMatches: []string{"host=portal.test:" + port}}})
			if err != nil {
				t.Fatal(err)
			}
			var asked []string
			c.lookup = func(_ context.Context, network, host string) ([]netip.Addr, error) {
				asked = append(asked, network+" "+host)
				var out []netip.Addr
				for _, a := range tc.addrs {
					out = append(out, netip.MustParseAddr(a))
				}
				return out, tc.lookupErr
			}
			r := runCheck(t, c, 5*time.Second)
			if r.OK != tc.wantOK || r.ErrorClass != tc.wantClass {
				t.Fatalf("ok=%v class=%q (err %q), want ok=%v class=%q", r.OK, r.ErrorClass, r.Error, tc.wantOK, tc.wantClass)
			}
			if !slices.Equal(asked, []string{"ip portal.test"}) {
				t.Errorf("lookups %v, want one of portal.test", asked)
			}
			if tc.wantOK {
				for _, p := range []string{"resolve", "connect", "processing", "transfer"} {
					if _, ok := r.Phases[p]; !ok {
						t.Errorf("no %s phase: %v", p, r.Phases)
					}
				}
			}
		})
	}
}

// TestHTTPDirectCancel: cancelling a run (SIGTERM) wakes it at once and
// says so; it is not a timeout.
func TestHTTPDirectCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "c", Kind: wire.KindHTTP, Target: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Run(ctx, discard)
	if r.OK || r.ErrorClass != wire.ClassOther || !strings.Contains(r.Error, "context canceled") {
		t.Errorf("ok=%v class=%q error %q, want a cancelled run", r.OK, r.ErrorClass, r.Error)
	}
}

// TestHTTPTLSConfigShared: checks without TLS options share one config,
// and plain http targets build none of their own.
func TestHTTPTLSConfigShared(t *testing.T) {
	a, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "a", Kind: wire.KindHTTP, Target: "http://127.0.0.1/"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "b", Kind: wire.KindHTTP, Target: "https://portal.test/"})
	if err != nil {
		t.Fatal(err)
	}
	if a.tlsBase != b.tlsBase || a.tlsTarget != nil {
		t.Errorf("tls configs: a base %p target %p, b base %p", a.tlsBase, a.tlsTarget, b.tlsBase)
	}
	if got := b.tlsFor("portal.test").ServerName; got != "portal.test" {
		t.Errorf("SNI for the target %q", got)
	}
	if got := b.tlsFor("other.test").ServerName; got != "other.test" {
		t.Errorf("SNI after a redirect %q", got)
	}
	if testEnv.defaultTLS.ServerName != "" {
		t.Errorf("the shared config was changed: ServerName %q", testEnv.defaultTLS.ServerName)
	}
}

// BenchmarkHTTPCheck compares one run of a check on the direct path with
// the same run through net/http's Transport (keep_alive false), against
// a loopback server: go test -run '^$' -bench HTTPCheck -benchmem ./probe/
func BenchmarkHTTPCheck(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "bench", Kind: wire.KindHTTP, Target: srv.URL + "/"})
	if err != nil {
		b.Fatal(err)
	}
	tc := *c
	tc.client = tc.newClient(nil, false)
	for _, bc := range []struct {
		name string
		c    *httpChecker
	}{{"direct", c}, {"transport", &tc}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r := bc.c.Run(ctx, discard)
				cancel()
				if !r.OK {
					b.Fatal(r.Error)
				}
			}
		})
	}
}
