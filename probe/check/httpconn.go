package check

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// The direct path: a run without proxy_url or keep_alive opens a new
// connection per request anyway, so net/http's Transport buys nothing
// but its machinery (a dialing goroutine, read and write loops and the
// channels between them, per request). Here the run's own goroutine
// resolves, dials, shakes hands, writes the request with net/http's
// Request.Write and reads the answer with http.ReadResponse: the wire
// code is the standard library's, only the one connection is ours. Each
// moment is taken right where it happens, with no goroutine hand-off in
// between, which is what makes "processing" exact.

// httpBufs are the buffers of the direct path's connections, reused
// across the runs and checks of one Kinds: a run holds them only while
// it reads or writes.
type httpBufs struct {
	readers, writers sync.Pool
}

func (b *httpBufs) reader(r io.Reader) *bufio.Reader {
	br, ok := b.readers.Get().(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(nil, 4<<10)
	}
	br.Reset(r)
	return br
}

func (b *httpBufs) writer(w io.Writer) *bufio.Writer {
	bw, ok := b.writers.Get().(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(nil, 4<<10)
	}
	bw.Reset(w)
	return bw
}

// maxInformational is how many 1xx answers precede the real one before a
// run gives up, as in net/http's Transport.
const maxInformational = 5

// errTooManyInformational is a server that answers 1xx forever.
var errTooManyInformational = errors.New("probe: too many 1xx informational responses")

// httpExchange is one request and its response on a connection of its
// own: one hop of a redirect chain.
type httpExchange struct {
	m    httpMoments
	conn net.Conn
	tls  *tls.Conn // nil for http
	br   *bufio.Reader
	bufs *httpBufs // where br goes back
	resp *http.Response
	stop func() bool // unregisters the cancellation hook
}

// close releases the connection and the buffer; the response body must
// not be read after it.
func (x *httpExchange) close() {
	if x.stop != nil {
		x.stop()
	}
	if x.conn != nil {
		x.conn.Close()
	}
	if x.br != nil {
		x.br.Reset(nil)
		x.bufs.readers.Put(x.br)
		x.br = nil
	}
}

// runDirect is Run without a Transport. It follows redirects like
// net/http's Client (see nextHop) and reports the last hop's phases.
func (c *httpChecker) runDirect(ctx context.Context, r *wire.Result) error {
	req := c.firstRequest()
	var x httpExchange
	rs := redirectState{includeBody: true}
	for hop := 0; ; hop++ {
		x = httpExchange{}
		if err := c.exchange(ctx, req, &x); err != nil {
			x.close()
			if p := x.m.phases(time.Time{}); len(p) > 0 {
				r.Phases = p
			}
			return urlError(c.method, req.URL.Redacted(), ctxVerdict(ctx, err))
		}
		next, err := c.nextHop(req, x.resp, hop, &rs)
		if next == nil && err == nil {
			break
		}
		x.close()
		if err != nil {
			r.Phases = x.m.phases(time.Time{})
			return err
		}
		req = next
	}
	defer x.close()
	r.StatusCode = x.resp.StatusCode
	content, err := c.readBody(c.decoded(x.resp))
	err = ctxVerdict(ctx, err)
	end := time.Now()
	r.Phases = x.m.phases(end)
	if x.tls != nil {
		state := x.tls.ConnectionState()
		if days, ok := certExpiryDays(&state, end); ok {
			r.Phases[CertExpiryPhase] = days
		}
	}
	if err != nil {
		return err
	}
	return c.judge(x.resp, content)
}

// ctxVerdict is the context's error in place of err when the run's
// deadline or cancellation cut it short, as net/http reports it: the
// connection's own deadline error would call a cancel a timeout.
func ctxVerdict(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// firstRequest is the configured request; its URL and header are the
// checker's, shared read-only.
func (c *httpChecker) firstRequest() *http.Request {
	req := &http.Request{
		Method: c.method, URL: c.url, Header: c.directHeader, Host: c.host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Close: true, // "Connection: close", as a Transport without keep-alive sends
	}
	if c.body != "" {
		req.Body = io.NopCloser(strings.NewReader(c.body))
		req.ContentLength = int64(len(c.body))
	}
	return req
}

// directHeader adds to header what net/http's Transport would: it asks
// for gzip unless the check set Accept-Encoding itself, asks for a
// range, or sends HEAD (whose empty body a gzip reader would reject).
// The server sees the same request on both paths, and the transfer
// phase times what a browser would download.
func directHeader(header http.Header, method string) (http.Header, bool) {
	h := header.Clone()
	if method == http.MethodHead || h.Get("Accept-Encoding") != "" || h.Get("Range") != "" {
		return h, false
	}
	h.Set("Accept-Encoding", "gzip")
	return h, true
}

// decoded is the body the regexes see: gunzipped when gzip was asked for
// on our behalf (net/http's rule) and the regexes need the text.
// Otherwise the compressed bytes are drained as they came.
func (c *httpChecker) decoded(resp *http.Response) io.Reader {
	if !c.wantsBody() || !c.addedGzip || !strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		return resp.Body
	}
	return &gunzipReader{body: resp.Body}
}

// gunzipReader opens the gzip stream at the first Read, so that an
// empty body is an empty text, not an error.
type gunzipReader struct {
	body io.Reader
	zr   *gzip.Reader
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	if g.zr == nil {
		zr, err := gzip.NewReader(g.body)
		if err == io.EOF {
			return 0, io.EOF // an empty body
		}
		if err != nil {
			return 0, fmt.Errorf("gzip body: %w", err)
		}
		g.zr = zr
	}
	return g.zr.Read(p)
}

// exchange sends req on a new connection and reads the response header,
// filling x's moments as it goes. x.resp's body is still to be read.
func (c *httpChecker) exchange(ctx context.Context, req *http.Request, x *httpExchange) error {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	conn, err := c.connect(ctx, host, port, &x.m)
	if err != nil {
		return err
	}
	x.conn = conn
	// The deadline bounds every read and write; the hook wakes them
	// early when the run is cancelled (SIGTERM) rather than timed out.
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	// A deadline in the past wakes any read or write at once.
	x.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	if req.URL.Scheme == "https" {
		tc := tls.Client(conn, c.tlsFor(host))
		x.m.tlsStart = time.Now()
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		x.m.tlsDone = time.Now()
		x.conn, x.tls = tc, tc
	}
	bw := c.bufs.writer(x.conn)
	err = withURLAuth(req).Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	c.bufs.writers.Put(bw)
	if err != nil {
		return err
	}
	x.m.wroteRequest = time.Now()
	x.br, x.bufs = c.bufs.reader(x.conn), c.bufs
	for range maxInformational {
		if _, err := x.br.Peek(1); err != nil {
			return err
		}
		if x.m.firstByte.IsZero() {
			x.m.firstByte = time.Now()
		}
		resp, err := http.ReadResponse(x.br, req)
		if err != nil {
			return err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			x.resp = resp
			return nil
		}
		// 1xx informational (103 Early Hints, say): the answer follows.
	}
	return errTooManyInformational
}

// connect resolves host (unless it is an IP literal) and dials port on
// its addresses in turn, each with a fair share of the time left, as
// net.Dialer does for a name. The phases are of the attempt that
// connected.
func (c *httpChecker) connect(ctx context.Context, host, port string, m *httpMoments) (net.Conn, error) {
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		m.dnsStart = time.Now()
		addrs, err = c.lookup(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		m.dnsDone = time.Now()
		if len(addrs) == 0 {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
	}
	var first error
	for i, ip := range addrs {
		dctx, cancel := shareOfDeadline(ctx, len(addrs)-i)
		m.connStart = time.Now()
		conn, err := c.dialer.DialContext(dctx, "tcp", net.JoinHostPort(ip.Unmap().String(), port))
		cancel()
		if err == nil {
			m.connDone = time.Now()
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// shareOfDeadline gives one of n remaining addresses its share of ctx's
// time: at least 2 s (net's minimum), never past ctx's own deadline.
func shareOfDeadline(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok || n <= 1 {
		return ctx, func() {}
	}
	left := time.Until(d)
	share := max(left/time.Duration(n), 2*time.Second)
	if share >= left {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, share)
}

// tlsFor is the config of a handshake with host: the target's own,
// prepared at load, or (a redirect elsewhere) a copy naming host.
func (c *httpChecker) tlsFor(host string) *tls.Config {
	if c.tlsTarget != nil && (c.tlsTarget == c.tlsBase || host == c.url.Hostname()) {
		return c.tlsTarget
	}
	return withServerName(c.tlsBase, host)
}

// withURLAuth sends the URL's user info as basic auth, as net/http's
// Client does, unless the check set Authorization itself.
func withURLAuth(req *http.Request) *http.Request {
	u := req.URL.User
	if u == nil || req.Header.Get("Authorization") != "" {
		return req
	}
	r := *req
	r.Header = req.Header.Clone()
	pass, _ := u.Password()
	r.SetBasicAuth(u.Username(), pass)
	return &r
}
