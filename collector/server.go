package collector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jangkau/jangkau/collector/apikey"
	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/collector/page"
	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/collector/ratelimit"
	"github.com/jangkau/jangkau/collector/report"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// Options are what a caller other than the config file decides.
type Options struct {
	// Banner is shown on top of the map page (the demo says it simulates).
	Banner string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Evidence keeps the imported evidence layers (Run opens data_dir's
	// evidence.db); nil: the import routes say there is none, and the
	// evidence views show the measurements alone; claims are refused
	// with 503.
	Evidence evidence.Store
}

// Server is the collector's HTTP side. The standard library's pattern
// router covers every route we have; no router dependency is needed.
type Server struct {
	cfg     *Config
	store   store.Store
	regions *region.Regions
	probes  *registry
	viewers apikey.Ring
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics
	engine  *coverage.Engine
	feed    coverage.Feed // the store's rollups for the engine
	// limits bounds each probe's ingest request rate with a bucket per
	// probe id (limits.probe_requests_per_second, limits.probe_burst). A
	// probe draining a backlog sends batch after batch, so the default of
	// 20 requests/s with a burst of 40 is far above what a healthy probe
	// needs (one batch per upload interval) and still far below what a
	// runaway or a stolen token could cost the store. clock estimates each
	// probe's clock offset (and exports it).
	limits *ratelimit.Keyed
	clock  *clockOffsets
	shapes *httpapi.RegionShapes
	opt    Options
	// refused logs requests with unknown probe tokens (refusedtoken.go).
	refused *refusedTokens
	// ingestBudget holds the decoded bytes of the ingest requests being
	// read (limits.max_decoded_in_flight_bytes, ingest_guard.go).
	ingestBudget decodedBudget

	// known are the catalogue's names, kept whatever the probe sends.
	known knownNames
	// evidence imports and lists evidence layers (evidence_api.go).
	evidence *evidenceAPI
	// outlines keeps the regions' outlines encoded for coverage answers.
	outlines httpapi.RegionGeometries
	// evidenceView backs the evidence views (evidence_view.go).
	evidenceView evidenceState

	mu           sync.Mutex
	seenServices map[string]bool // e-services results came from, for the map's filter
}

// NewServer wires a server; it places every configured probe on regions.
func NewServer(cfg *Config, st store.Store, regions *region.Regions, log *slog.Logger, opt Options) (*Server, error) {
	probes, err := newRegistry(cfg.Probes, regions, cfg.Tiles.Zoom)
	if err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Server{cfg: cfg, store: st, regions: regions, probes: probes, log: log, opt: opt,
		reg: prometheus.NewRegistry()}
	s.limits, s.clock = ratelimit.New(cfg.Limits.ProbeRequestsPerSecond, cfg.Limits.ProbeBurst), newClockOffsets()
	s.refused = newRefusedTokens()
	s.seenServices, s.known = map[string]bool{}, newKnownNames(cfg.Services)
	s.engine = coverage.NewEngine(regions, tile.NewIndex(regions), cfg.Tiles.Zoom, cfg.Status)
	s.shapes = httpapi.NewRegionShapes(regions, cfg.Tiles.ShapeCacheBytes)
	s.feed = storeFeed(st)
	s.evidenceView = newEvidenceState(opt.Evidence, regions, cfg.Tiles.Zoom)
	for _, v := range cfg.Viewers {
		s.viewers.Add(v.Name, v.KeySHA256)
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.reg, s)
	s.evidence = newEvidenceAPI(s)
	return s, nil
}

// Handler routes every endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/ingest", s.handleIngest)
	mux.HandleFunc("GET /api/v1/probes/self/checks", s.handleSelfChecks)
	mux.Handle("GET /api/v1/coverage", s.reader(s.handleCoverageView))
	mux.Handle("GET /api/v1/coverage/tiles", s.reader(s.handleTiles))
	mux.Handle("GET /api/v1/services", s.reader(s.handleServices))
	mux.Handle("GET /tiles/{z}/{x}/{y}", s.reader(s.handleMVT))
	mux.Handle("GET /api/v1/probes", s.reader(s.handleProbes))
	s.evidenceRoutes(mux)
	mux.Handle("GET /metrics", s.reader(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /{$}", s.reader(page.New(s).ServeHTTP))
	mux.Handle("GET /report", s.reader(report.Handler(s)))
	partner.New(s, s.cfg.Partners, s.log).Routes(mux)
	s.evidence.routes(mux, s.reader)
	// CORS runs before routing (a preflight is an OPTIONS no route has,
	// and carries no key); compression wraps everything, so that its Vary
	// joins CORS's.
	// Recover is outermost: a panic anywhere is a 500, logged and counted
	// (the partner routes recover inside their audit, to log the 500).
	return httpapi.Recover(httpapi.Compress(withCORS(s.cfg.CORS, mux)), s.Panicked)
}

// reader lets through viewers (or anyone with public_read).
func (s *Server) reader(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.PublicRead {
			if _, ok := s.viewers.Match(apikey.FromRequest(r)); !ok {
				w.Header().Set("WWW-Authenticate", `Basic realm="jangkau"`)
				httpapi.Error(w, http.StatusUnauthorized, "a viewer key is needed (Authorization: Bearer KEY, or any user name with the key as password)")
				return
			}
		}
		h(w, r)
	})
}

// Serve serves on ln (TLS when configured) until ctx ends, then shuts down
// gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.TLS.CertFile != "" {
		tc, err := s.tlsConfig()
		if err != nil {
			return err
		}
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("collector shutting down: finishing the requests in flight (at most 10 s)")
	defer s.metrics.regions.stop()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) tlsConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f := s.cfg.TLS.ClientCAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.client_ca_file %s: no PEM certificate in it", f)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// OpenStore opens the store results are kept in. The command chooses it
// (embedded or InfluxDB); Run calls it once the regions have loaded.
type OpenStore func(ctx context.Context) (store.Store, error)

// LoadRegions loads the boundaries of regions.file with the population
// of regions.population_csv, as the collector (and its report) use them.
func LoadRegions(cfg *Config, log *slog.Logger) (*region.Regions, error) {
	if cfg.Regions.File == "" {
		return nil, errors.New("regions.file is not set (or use --regions FILE): the collector needs boundaries")
	}
	regions, err := region.LoadFile(cfg.Regions.File, region.LoadOptions{
		CodeProperty: cfg.Regions.CodeProperty, NameProperty: cfg.Regions.NameProperty,
		PopulationProperty: cfg.Regions.PopulationProperty,
	})
	if err != nil {
		return nil, err
	}
	if f := cfg.Regions.PopulationCSV; f != "" {
		n, err := regions.ApplyPopulationFile(f)
		if err != nil {
			return nil, fmt.Errorf("regions.population_csv: %w", err)
		}
		log.Info("population joined", "file", f, "regions", n)
	}
	return regions, nil
}

// Run is `jangkau collector`: it loads the regions, opens the store and
// serves on listen until ctx ends.
func Run(ctx context.Context, cfg *Config, log *slog.Logger, openStore OpenStore) error {
	regions, err := LoadRegions(cfg, log)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ev, err := openEvidence(cfg)
	if err != nil {
		return err
	}
	defer ev.Close()
	srv, err := NewServer(cfg, st, regions, log, Options{Evidence: ev})
	if err != nil {
		return err
	}
	// The tile covers before the first request: the first view after a
	// start would compute them otherwise. A level whose cover cannot be
	// computed (too many tiles at tiles.zoom) is logged; its views answer
	// with the same error.
	began := time.Now()
	if err := srv.engine.PrepareCovers(); err != nil {
		log.Warn("tile covers: some levels have none; their coverage views will fail", "zoom", cfg.Tiles.Zoom, "err", err)
	} else {
		log.Info("tile covers ready", "levels", regions.Levels(), "zoom", cfg.Tiles.Zoom, "took", time.Since(began).Round(time.Millisecond))
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	log.Info("collector serving", "url", scheme+"://"+ln.Addr().String()+"/", "data_dir", cfg.DataDir,
		"regions", cfg.Regions.File, "probes", len(cfg.Probes), "levels", regions.Levels())
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("collector stopped")
	return nil
}
