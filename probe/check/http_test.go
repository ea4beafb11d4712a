package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/probe/check/checktest"
	"github.com/jangkau/jangkau/wire"
)

// runCheck runs c under timeout as the scheduler would.
func runCheck(t *testing.T, c Checker, timeout time.Duration) wire.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	return c.Run(ctx, discard)
}

func intp(i int) *int { return &i }

// tlsServer serves mux with cert; handshake errors are expected there.
func tlsServer(t *testing.T, mux http.Handler, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPChecker(t *testing.T) {
	mux := checktest.Mux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	pki := newTestPKI(t)
	now := time.Now()
	valid := tlsServer(t, mux, pki.leaf(t, now.Add(-time.Hour), now.Add(30*24*time.Hour)))
	expired := tlsServer(t, mux, pki.leaf(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour)))
	// A forward proxy: it answers for any absolute URL it is asked for.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "proxied %s", r.URL)
	}))
	defer proxy.Close()

	tests := []struct {
		name       string
		target     string
		opts       *checkspec.HTTPOptions
		timeout    time.Duration
		wantOK     bool
		wantStatus int
		wantClass  wire.ErrorClass
		wantErr    string
		wantPhases []string
	}{
		{name: "ok", target: srv.URL + "/ok", wantOK: true, wantStatus: 200, wantPhases: []string{"connect", "processing", "transfer"}},
		{name: "redirect followed", target: srv.URL + "/moved", wantOK: true, wantStatus: 200, wantPhases: []string{"connect", "processing", "transfer"}},
		{name: "status 500", target: srv.URL + "/fail", wantStatus: 500, wantClass: wire.ClassStatus},
		{name: "500 listed as valid", target: srv.URL + "/fail", opts: &checkspec.HTTPOptions{ValidStatusCodes: []int{500}}, wantOK: true, wantStatus: 500},
		{name: "refused", target: "http://" + checktest.DeadAddr(t) + "/", wantClass: wire.ClassRefused},
		{name: "timeout", target: srv.URL + "/slow", timeout: 100 * time.Millisecond, wantClass: wire.ClassTimeout},
		{name: "redirects beyond the limit", target: srv.URL + "/loop", wantStatus: 302, wantClass: wire.ClassStatus, wantErr: "max_redirects (10)"},
		{name: "redirect not followed", target: srv.URL + "/moved", opts: &checkspec.HTTPOptions{MaxRedirects: intp(0)}, wantStatus: 301, wantClass: wire.ClassStatus},
		{name: "redirect not followed, valid", target: srv.URL + "/moved", opts: &checkspec.HTTPOptions{MaxRedirects: intp(0), ValidStatusCodes: []int{301}}, wantOK: true, wantStatus: 301},
		{name: "body must not match", target: srv.URL + "/maintenance", opts: &checkspec.HTTPOptions{FailIfBodyMatches: []string{`(?i)pemeliharaan`}}, wantStatus: 200, wantClass: wire.ClassBody, wantErr: "pemeliharaan"},
		{name: "body must match", target: srv.URL + "/maintenance", opts: &checkspec.HTTPOptions{FailIfBodyNotMatches: []string{`Selamat datang`}}, wantStatus: 200, wantClass: wire.ClassBody},
		{name: "body regexes pass", target: srv.URL + "/ok", opts: &checkspec.HTTPOptions{FailIfBodyMatches: []string{"error"}, FailIfBodyNotMatches: []string{"^jangkau"}}, wantOK: true, wantStatus: 200},
		{name: "method headers body", target: srv.URL + "/echo", opts: &checkspec.HTTPOptions{Method: "POST", Body: "a=1", Headers: map[string]string{"X-Key": "k1", "Host": "portal.test"},
			FailIfBodyNotMatches: []string{`^POST /echo host=portal.test x-key=k1 ua=jangkau-probe/0 body=a=1$`}}, wantOK: true, wantStatus: 200},
		{name: "proxy", target: "http://portal.test/x", opts: &checkspec.HTTPOptions{ProxyURL: proxy.URL, FailIfBodyNotMatches: []string{"^proxied http://portal.test/x$"}}, wantOK: true, wantStatus: 200},
		{name: "slow body", target: srv.URL + "/slowbody", wantOK: true, wantStatus: 200, wantPhases: []string{"transfer"}},
		{name: "https", target: valid.URL + "/ok", opts: &checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{CAFile: pki.caFile}}, wantOK: true, wantStatus: 200,
			wantPhases: []string{"connect", "tls", "processing", "transfer", CertExpiryPhase}},
		{name: "https server_name", target: valid.URL + "/ok", opts: &checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{CAFile: pki.caFile, ServerName: "portal.test"}}, wantOK: true, wantStatus: 200},
		{name: "https wrong server_name", target: valid.URL + "/ok", opts: &checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{CAFile: pki.caFile, ServerName: "other.test"}}, wantClass: wire.ClassTLS},
		{name: "https unknown CA", target: valid.URL + "/ok", wantClass: wire.ClassTLS},
		{name: "https expired", target: expired.URL + "/ok", opts: &checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{CAFile: pki.caFile}}, wantClass: wire.ClassTLS, wantErr: "expired"},
		{name: "https expired, not verified", target: expired.URL + "/ok", opts: &checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{InsecureSkipVerify: true}}, wantOK: true, wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := checkspec.CheckConfig{Name: tc.name, Kind: wire.KindHTTP, Target: tc.target, Service: "svc", Timeout: 5 * time.Second, HTTP: tc.opts}
			c, err := newHTTPCheckerFrom(cc)
			if err != nil {
				t.Fatal(err)
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			start := time.Now()
			r := runCheck(t, c, timeout)
			elapsed := time.Since(start)

			if r.OK != tc.wantOK || r.StatusCode != tc.wantStatus || r.ErrorClass != tc.wantClass {
				t.Fatalf("got ok=%v status=%d class=%q (err %q), want ok=%v status=%d class=%q",
					r.OK, r.StatusCode, r.ErrorClass, r.Error, tc.wantOK, tc.wantStatus, tc.wantClass)
			}
			if !strings.Contains(r.Error, tc.wantErr) {
				t.Errorf("error %q, want it to contain %q", r.Error, tc.wantErr)
			}
			if r.Check != tc.name || r.Kind != wire.KindHTTP || r.Target != tc.target || r.Service != "svc" || r.Seq != 0 {
				t.Errorf("identity fields wrong: %+v", r)
			}
			if !tc.wantOK && r.Error == "" {
				t.Error("failure without an error message")
			}
			if r.DurationMS <= 0 || r.DurationMS > ms(elapsed) {
				t.Errorf("DurationMS = %v, want in (0, %v]", r.DurationMS, ms(elapsed))
			}
			for _, p := range tc.wantPhases {
				if r.Phases[p] <= 0 {
					t.Errorf("phase %s = %v, want > 0 (phases %v)", p, r.Phases[p], r.Phases)
				}
			}
			if _, ok := r.Phases["resolve"]; ok {
				t.Errorf("resolve phase %v for an IP literal", r.Phases["resolve"])
			}
			if len(r.Phases) > 16 {
				t.Errorf("%d phases, the collector takes 16", len(r.Phases))
			}
			switch tc.name {
			case "ok":
				// The handler sleeps 20 ms between request and response:
				// processing is that plus well under 1 ms when idle, but a
				// loaded CI running -race can delay the client's read loop.
				if p := r.Phases["processing"]; p < 20 || p > min(r.DurationMS, 150) {
					t.Errorf("processing = %.2f ms (whole run %.2f ms), want 20 ms plus a little", p, r.DurationMS)
				}
			case "slow body":
				// The handler pauses 100 ms after flushing the first part.
				// The pause starts before the client sees that part, so
				// on a loaded machine transfer can be a little under
				// 100 ms; without the pause it is well under 1 ms.
				if p := r.Phases["transfer"]; p < 90 {
					t.Errorf("transfer = %.2f ms, want about 100 (the handler pauses mid-body)", p)
				}
			case "https":
				if d := r.Phases[CertExpiryPhase]; d < 29.9 || d > 30 {
					t.Errorf("cert_expiry_days = %v, want about 30", d)
				}
			case "https expired, not verified":
				if d, ok := r.Phases[CertExpiryPhase]; !ok || d != 0 {
					t.Errorf("cert_expiry_days = %v (present %v), want 0", d, ok)
				}
			}
		})
	}
}

func TestHTTPKeepAlive(t *testing.T) {
	srv := httptest.NewServer(checktest.Mux())
	defer srv.Close()
	c, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "ka", Kind: wire.KindHTTP, Target: srv.URL + "/echo", HTTP: &checkspec.HTTPOptions{KeepAlive: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.client.CloseIdleConnections()
	first, second := runCheck(t, c, 5*time.Second), runCheck(t, c, 5*time.Second)
	if !first.OK || !second.OK {
		t.Fatalf("runs failed: %q, %q", first.Error, second.Error)
	}
	if _, ok := first.Phases["connect"]; !ok {
		t.Errorf("first run has no connect phase: %v", first.Phases)
	}
	if _, ok := second.Phases["connect"]; ok {
		t.Errorf("second run connected again despite keep_alive: %v", second.Phases)
	}
}

func TestHTTPConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    checkspec.HTTPOptions
		wantErr string
	}{
		{"status", checkspec.HTTPOptions{ValidStatusCodes: []int{200, 700}}, "http.valid_status_codes[1] (700) is not an HTTP status"},
		{"regex", checkspec.HTTPOptions{FailIfBodyMatches: []string{"ok", "(unclosed"}}, `http.fail_if_body_matches[1] ("(unclosed"): error parsing regexp`},
		{"not regex", checkspec.HTTPOptions{FailIfBodyNotMatches: []string{"[z-a]"}}, `http.fail_if_body_not_matches[0] ("[z-a]")`},
		{"method", checkspec.HTTPOptions{Method: "get it"}, `http.method "get it" must be an upper-case HTTP method`},
		{"redirects", checkspec.HTTPOptions{MaxRedirects: intp(-1)}, "http.max_redirects (-1) must not be negative"},
		{"proxy", checkspec.HTTPOptions{ProxyURL: "ftp://proxy:21"}, `http.proxy_url "ftp://proxy:21" must be an http, https or socks5 URL`},
		{"header", checkspec.HTTPOptions{Headers: map[string]string{"Bad Name": "x"}}, `http.headers["Bad Name"] is not a valid header`},
		{"tls", checkspec.HTTPOptions{TLS: &checkspec.TLSOptions{CAFile: "/no/such/ca.pem"}}, "http.tls.ca_file: open /no/such/ca.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newHTTPChecker(checkspec.CheckConfig{Name: "x", Kind: wire.KindHTTP, Target: "http://127.0.0.1:1/", HTTP: &tc.opts})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestHTTPProcessingAccuracy measures how far the processing phase is
// from what the server spent: the handler sleeps 20 ms, and its own
// clock says how long it took from reading the request to flushing the
// answer. The mean error over 200 runs is logged (go test -run
// ProcessingAccuracy -v ./probe/); the bound here is only a sanity check,
// loose enough for a loaded CI under -race.
func TestHTTPProcessingAccuracy(t *testing.T) {
	const runs = 200
	served := make(chan time.Duration, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("ok"))
		w.(http.Flusher).Flush()
		served <- time.Since(start)
	}))
	defer srv.Close()
	c, err := newHTTPCheckerFrom(checkspec.CheckConfig{Name: "acc", Kind: wire.KindHTTP, Target: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var sumErr, sumAbs, sumVs20, worst float64
	for range runs {
		r := runCheck(t, c, 5*time.Second)
		server := ms(<-served)
		if !r.OK {
			t.Fatalf("run failed: %s", r.Error)
		}
		e := r.Phases["processing"] - server
		sumErr += e
		sumAbs += math.Abs(e)
		sumVs20 += r.Phases["processing"] - 20
		worst = math.Max(worst, math.Abs(e))
	}
	mean := sumErr / runs
	t.Logf("processing phase over %d runs: mean error %.3f ms vs the handler's own time (mean |error| %.3f ms, worst %.3f ms); mean %.3f ms above the 20 ms sleep",
		runs, mean, sumAbs/runs, worst, sumVs20/runs)
	if mean < 0 || mean > 5 {
		t.Errorf("mean processing error %.3f ms, want within 0..5 ms", mean)
	}
}
