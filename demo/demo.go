// Package demo is `jangkau demo`: a collector, stand-in e-services and one
// probe per kabupaten/kota of Banten on one machine, with simulated links
// so that the map shows every status a real deployment would.
package demo

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/probe"
)

// Options of a demo run.
type Options struct {
	Listen   string        // collector address; a free port when busy
	DataDir  string        // "" = a temporary folder removed at the end
	Interval time.Duration // check interval; default 2s
	Log      *slog.Logger
	Out      io.Writer // where the map's URL is printed
	// Ready, if set, is called with the map's URL once everything runs.
	Ready func(url string)
}

// Banner is what the map page says on top during the demo.
const Banner = "Simulasi: demo ini berjalan di satu mesin; bentuk wilayah skematis, bukan batas sebenarnya. " +
	"Simulation: this demo runs on one machine. Region shapes are schematic " +
	"(grid cells grouped around a point per kabupaten/kota), not real boundaries; " +
	"probes check local stand-in e-services through simulated links. " +
	"Kab. Pandeglang's link is down most of the time and Kab. Lebak's is slow and drops now and then."

// condition is a simulated district link.
type condition struct {
	delay            time.Duration
	meanUp, meanDown time.Duration // meanUp 0: never down
}

// conditions: Pandeglang is up about 1/6 of the time (blank), Lebak about
// 4/5 of the time and slow (degraded), the rest clean.
var conditions = map[string]condition{
	"36.01": {delay: 150 * time.Millisecond, meanUp: time.Second, meanDown: 5 * time.Second},
	"36.02": {delay: 300 * time.Millisecond, meanUp: 10 * time.Second, meanDown: 2500 * time.Millisecond},
}

// Run runs the demo until ctx ends.
func Run(ctx context.Context, opt Options) error {
	if opt.Interval == 0 {
		opt.Interval = 2 * time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	regions, err := BantenRegions()
	if err != nil {
		return err
	}
	dataDir := opt.DataDir
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "jangkau-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	errc := make(chan error, 1)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
		cancel()
	}

	portal, gateway, err := startServices(ctx, &wg)
	if err != nil {
		return err
	}
	st, err := embedded.Open(filepath.Join(dataDir, "collector"))
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", opt.Listen)
	if err != nil {
		opt.Log.Info("demo: address busy, taking a free port", "listen", opt.Listen, "err", err)
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
	}
	url := "http://" + ln.Addr().String()
	cfg := collector.DefaultConfig
	cfg.Listen, cfg.DataDir, cfg.PublicRead = ln.Addr().String(), dataDir, true
	// Export the levels the demo's regions have, so that the first line an
	// operator sees is not a warning about a level it lacks.
	cfg.Metrics.Levels = regions.Levels()
	var probeYAML []string
	for i, r := range regions.Level(2) {
		tok := newToken()
		sum := sha256.Sum256([]byte(tok))
		lat, lon, _ := Seat(r.Code)
		id := "demo-" + r.Code
		cfg.Probes = append(cfg.Probes, collector.ProbeConfig{ID: id, TokenSHA256: hex.EncodeToString(sum[:]),
			Region: r.Code, Location: &collector.Location{Lat: lat, Lon: lon}, Carrier: "simulated"})
		c := conditions[r.Code]
		if c.delay == 0 {
			c.delay = time.Duration(3+5*i) * time.Millisecond
		}
		link := NewLink(c.delay, c.meanUp, c.meanDown, uint64(i)+1)
		httpAddr, err1 := link.Forward(portal)
		tcpAddr, err2 := link.Forward(gateway)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		wg.Go(func() { link.Run(ctx) })
		probeYAML = append(probeYAML, fmt.Sprintf(`id: %s
collector: %s
token: %s
spool: {dir: %q}
upload: {interval: 2s}
checks:
  - {name: portal, kind: http, target: "http://%s/", interval: %s, timeout: %s, service: perizinan}
  - {name: gateway, kind: tcp, target: %q, interval: %s, timeout: %s}
`, id, url, tok, filepath.Join(dataDir, "spool-"+id), httpAddr, opt.Interval, opt.Interval*3/4,
			tcpAddr, opt.Interval, opt.Interval*3/4))
	}
	srv, err := collector.NewServer(&cfg, st, regions, opt.Log.With("part", "collector"), collector.Options{Banner: Banner})
	if err != nil {
		return err
	}
	// The collector stops after the probes, so that their last uploads on
	// Ctrl-C reach it instead of each logging that it is gone.
	cctx, stopCollector := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCollector()
	wg.Go(func() {
		if err := srv.Serve(cctx, ln); err != nil {
			fail(fmt.Errorf("collector: %w", err))
		}
	})
	var probes sync.WaitGroup
	for _, y := range probeYAML {
		pc, err := probe.ParseConfig([]byte(y), dataDir)
		if err != nil {
			return fmt.Errorf("demo probe config: %w", err)
		}
		p, err := probe.New(pc, opt.Log.With("probe", pc.ID), prometheus.NewRegistry())
		if err != nil {
			return err
		}
		probes.Go(func() {
			if err := p.Run(ctx); err != nil {
				fail(fmt.Errorf("probe %s: %w", pc.ID, err))
			}
		})
	}
	fmt.Fprintf(opt.Out, "jangkau demo: %d simulated districts of Banten report to a collector.\n", len(probeYAML))
	fmt.Fprintf(opt.Out, "Map: %s/   (coverage API: %s/api/v1/coverage?level=2)\n", url, url)
	fmt.Fprintf(opt.Out, "Statuses settle within about %s. Press Ctrl-C to stop.\n", 4*opt.Interval)
	if opt.Ready != nil {
		opt.Ready(url + "/")
	}
	<-ctx.Done()
	probes.Wait()
	stopCollector()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// startServices starts the stand-in e-services: a licensing portal over
// HTTP that takes 10-30 ms per request and a TCP gateway.
func startServices(ctx context.Context, wg *sync.WaitGroup) (portal, gateway string, err error) {
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		hl.Close()
		return "", "", err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(10+rand.IntN(20)) * time.Millisecond)
		fmt.Fprintln(w, "Layanan perizinan online (simulasi): OK")
	})}
	wg.Go(func() { srv.Serve(hl) })
	wg.Go(func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
	wg.Go(func() {
		<-ctx.Done()
		srv.Close()
		tl.Close()
	})
	return hl.Addr().String(), tl.Addr().String(), nil
}

func newToken() string {
	b := make([]byte, 24)
	crand.Read(b)
	return hex.EncodeToString(b)
}
