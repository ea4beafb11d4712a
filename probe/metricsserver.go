package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsShutdown bounds how long a scrape in progress may delay shutdown.
const metricsShutdown = 2 * time.Second

// serveMetrics serves /metrics on cfg.MetricsListen until ctx ends. It
// serves the registry New was given when that registry can be gathered
// (a *prometheus.Registry); otherwise it says why and serves nothing. A
// listener that cannot be opened is logged: checks and uploads go on.
func (p *Probe) serveMetrics(ctx context.Context) {
	addr := p.cfg.MetricsListen
	if addr == "" {
		return
	}
	if p.metrics == nil || p.metrics.gatherer == nil {
		p.log.Warn("metrics_listen is set but the probe has no registry to serve; /metrics is off", "metrics_listen", addr)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.log.Error("metrics listener", "metrics_listen", addr, "err", err)
		return
	}
	p.serveMetricsOn(ctx, ln)
}

// serveMetricsOn serves /metrics on ln until ctx ends, then shuts down.
func (p *Probe) serveMetricsOn(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.metrics.gatherer, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{p}, Timeout: 10 * time.Second,
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), metricsShutdown)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	p.log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		p.log.Error("metrics server", "err", err)
	}
	<-done
}

// slogPrinter lets promhttp report gathering errors in the probe's log.
type slogPrinter struct{ p *Probe }

func (s slogPrinter) Println(v ...any) { s.p.log.Error("serving metrics", "err", v) }
