package probe

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runCheck runs c under timeout as the scheduler would.
func runCheck(t *testing.T, c Checker, timeout time.Duration) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	return c.Run(ctx, discard)
}

func TestHTTPChecker(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte(strings.Repeat("jangkau ", 4096)))
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tlsSrv := httptest.NewUnstartedServer(mux)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the unknown-CA case's handshake error
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	trusted := &tls.Config{RootCAs: tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}

	tests := []struct {
		name       string
		target     string
		tls        *tls.Config
		timeout    time.Duration
		wantOK     bool
		wantStatus int
		wantClass  string
		wantPhases []string
	}{
		{name: "ok", target: srv.URL + "/ok", wantOK: true, wantStatus: 200, wantPhases: []string{"connect", "processing", "transfer"}},
		{name: "redirect followed", target: srv.URL + "/moved", wantOK: true, wantStatus: 200, wantPhases: []string{"connect", "processing", "transfer"}},
		{name: "status 500", target: srv.URL + "/fail", wantStatus: 500, wantClass: ErrStatus},
		{name: "refused", target: "http://" + deadAddr(t) + "/", wantClass: ErrRefused},
		{name: "timeout", target: srv.URL + "/slow", timeout: 100 * time.Millisecond, wantClass: ErrTimeout},
		{name: "redirect loop", target: srv.URL + "/loop", wantStatus: 302, wantClass: ErrOther},
		{name: "https", target: tlsSrv.URL + "/ok", tls: trusted, wantOK: true, wantStatus: 200, wantPhases: []string{"connect", "tls", "processing", "transfer"}},
		{name: "https unknown CA", target: tlsSrv.URL + "/ok", wantClass: ErrTLS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := CheckConfig{Name: tc.name, Kind: KindHTTP, Target: tc.target, Service: "svc"}
			c, err := newHTTPCheckerTLS(cc, tc.tls)
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
			if r.Check != tc.name || r.Kind != KindHTTP || r.Target != tc.target || r.Service != "svc" || r.Seq != 0 {
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
			if tc.wantOK {
				// The handler sleeps 20 ms between request and response:
				// processing is that plus well under 1 ms when idle, but a
				// loaded CI running -race can delay the client's read loop.
				if p := r.Phases["processing"]; p < 20 || p > min(r.DurationMS, 150) {
					t.Errorf("processing = %.2f ms (whole run %.2f ms), want 20 ms plus a little", p, r.DurationMS)
				}
			}
		})
	}
}
