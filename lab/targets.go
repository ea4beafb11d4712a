package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// targetsConfig is the internet namespace: the e-services (one listener
// each, so that one can go down on its own) and a DNS server that answers
// every name under Zone with Addr.
type targetsConfig struct {
	Addr     string          `json:"addr"`
	Services []targetService `json:"services"`
	CertFile string          `json:"cert_file"`
	KeyFile  string          `json:"key_file"`
	Zone     string          `json:"zone"`
	Control  string          `json:"control"`
}

type targetService struct {
	Name string `json:"name"`
	Port int    `json:"port"`
	TLS  bool   `json:"tls"`
}

// targetBody is what every e-service answers; probes match it.
const targetBody = "Layanan %s tersedia\n"

// eservice is one e-service's listener, closed while the service is down:
// its clients then get "connection refused", as from a stopped server.
type eservice struct {
	targetService
	addr string
	tlsc *tls.Config
	log  *slog.Logger

	mu  sync.Mutex
	srv *http.Server
}

func (s *eservice) up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.addr, fmt.Sprint(s.Port)))
	if err != nil {
		return fmt.Errorf("service %s: %w", s.Name, err)
	}
	if s.tlsc != nil {
		ln = tls.NewListener(ln, s.tlsc)
	}
	body := fmt.Sprintf(targetBody, s.Name)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(body))
	})}
	go srv.Serve(ln)
	s.srv = srv
	s.log.Info("service up", "service", s.Name)
	return nil
}

func (s *eservice) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
		s.log.Info("service down", "service", s.Name)
	}
}

func serveTargets(ctx context.Context, path string, log *slog.Logger) error {
	var c targetsConfig
	if err := readRoleConfig(path, &c); err != nil {
		return err
	}
	var tlsc *tls.Config
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return err
		}
		tlsc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	services := map[string]*eservice{}
	for _, sv := range c.Services {
		s := &eservice{targetService: sv, addr: c.Addr, log: log}
		if sv.TLS {
			s.tlsc = tlsc
		}
		if err := s.up(); err != nil {
			return err
		}
		defer s.down()
		services[sv.Name] = s
	}
	stopDNS, err := serveDNS(c.Addr, c.Zone)
	if err != nil {
		return err
	}
	defer stopDNS()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /service/{name}/{state}", func(w http.ResponseWriter, r *http.Request) {
		s := services[r.PathValue("name")]
		if s == nil {
			http.Error(w, "no such service", http.StatusNotFound)
			return
		}
		switch r.PathValue("state") {
		case "up":
			if err := s.up(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		case "down":
			s.down()
		default:
			http.Error(w, "up or down", http.StatusBadRequest)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return controlServer(ctx, c.Control, mux)
}

// serveDNS answers A queries for every name in zone with addr, over UDP and
// TCP on port 53.
func serveDNS(addr, zone string) (stop func(), err error) {
	zone = dns.Fqdn(zone)
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		if len(req.Question) != 1 {
			m.Rcode = dns.RcodeFormatError
			w.WriteMsg(m)
			return
		}
		q := req.Question[0]
		switch {
		case !dns.IsSubDomain(zone, strings.ToLower(q.Name)):
			m.Rcode = dns.RcodeRefused
		case q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A:   net.ParseIP(addr).To4(),
			})
		}
		w.WriteMsg(m)
	})
	hostport := net.JoinHostPort(addr, "53")
	pc, err := net.ListenPacket("udp", hostport)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	ln, err := net.Listen("tcp", hostport)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dns: %w", err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	return func() { udp.Shutdown(); tcp.Shutdown() }, nil
}
