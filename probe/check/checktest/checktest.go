// Package checktest has the local servers the tests of checks run
// against: an HTTP mux, a DNS zone on 127.0.0.1:0, a dead port and a
// redirect to a host outside an allow list. The probe's own tests run
// whole checks against them too.
package checktest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/jangkau/jangkau/internal/testenv"
)

// DeadAddr is a loopback address where nothing listens.
func DeadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Mux serves what the http cases need: /ok, /fail, /slow, /slowbody,
// /loop, /moved, /maintenance and /echo.
func Mux() *http.ServeMux {
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
	mux.HandleFunc("/slowbody", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first part "))
		w.(http.Flusher).Flush()
		time.Sleep(100 * time.Millisecond)
		w.Write([]byte("second part"))
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/maintenance", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<h1>Sedang dalam pemeliharaan</h1>"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s host=%s x-key=%s ua=%s body=%s", r.Method, r.URL.Path, r.Host, r.Header.Get("X-Key"), r.UserAgent(), b)
	})
	return mux
}

// dnsZone answers the test queries; the addresses are TEST-NET-1 and are
// never contacted.
func dnsZone(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	q := req.Question[0]
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		return r
	}
	switch {
	case q.Name == "portal.example." && q.Qtype == dns.TypeA:
		m.Answer = append(m.Answer, rr("portal.example. 300 IN A 192.0.2.10"), rr("portal.example. 300 IN A 192.0.2.11"))
	case q.Name == "portal.example." && q.Qtype == dns.TypeMX:
		m.Answer = append(m.Answer, rr("portal.example. 300 IN MX 10 mail.portal.example."))
	case q.Name == "norecurse.example.":
		if req.RecursionDesired {
			m.Rcode = dns.RcodeRefused
		} else {
			m.Answer = append(m.Answer, rr("norecurse.example. 300 IN A 192.0.2.20"))
		}
	case q.Name == "slow.example.":
		time.Sleep(300 * time.Millisecond)
	default:
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}

// DNSServer starts dnsZone on 127.0.0.1:0 over network (udp or tcp).
func DNSServer(t *testing.T, network string) string {
	t.Helper()
	started := make(chan struct{})
	srv := &dns.Server{Handler: dns.HandlerFunc(dnsZone), NotifyStartedFunc: func() { close(started) }}
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.PacketConn = pc
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.Listener = ln
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { srv.Shutdown(); <-done })
	if network == "udp" {
		return srv.PacketConn.LocalAddr().String()
	}
	return srv.Listener.Addr().String()
}

// RedirectOutside serves, on 127.0.0.1, a redirect with code to a server
// on 127.0.0.2 that counts the requests it gets.
func RedirectOutside(t *testing.T, code int) (near *httptest.Server, outside *atomic.Int32) {
	t.Helper()
	outside = new(atomic.Int32)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		testenv.Missing(t, "127.0.0.2 not usable here (Linux routes all of 127.0.0.0/8 to lo): %v", err)
	}
	far := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { outside.Add(1) }))
	far.Listener.Close()
	far.Listener = ln
	far.Start()
	t.Cleanup(far.Close)
	near = httptest.NewServer(http.RedirectHandler(far.URL+"/", code))
	t.Cleanup(near.Close)
	return near, outside
}
