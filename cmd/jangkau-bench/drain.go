package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/probe"
	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
)

// runDrain measures how long a probe takes to drain a day's backlog
// through a slow link, against the floor: compressed bytes ÷ link rate.
// The probe and the collector are the real code, in this process; the link
// is a token-bucket TCP relay on loopback, one bucket per direction.
func runDrain(args []string) error {
	fs := flag.NewFlagSet("drain", flag.ContinueOnError)
	n := fs.Int("results", 144000, "results in the backlog (a day of 10 checks every minute)")
	bits := fs.Float64("rate", 256000, "link rate in bit/s, each direction")
	batch := fs.Int("batch", 1000, "probe upload.batch_size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "jangkau-bench-drain-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The backlog: typical results, 0.6 s apart, ending now.
	t0 := time.Now().UTC().Add(-time.Duration(*n) * 600 * time.Millisecond)
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		return err
	}
	var floorBytes int
	for i := 0; i < *n; i += *batch {
		rs := make([]wire.Result, min(*batch, *n-i))
		for j := range rs {
			rs[j] = typical(uint64(i+j+1), t0.Add(time.Duration(i+j)*600*time.Millisecond))
		}
		if _, err := sp.Add(rs...); err != nil {
			return err
		}
		body, err := gzipBatch(wire.Batch{Probe: "pdg-01", SentAt: time.Now().UTC(), FirstSeq: uint64(i + 1), Results: rs})
		if err != nil {
			return err
		}
		floorBytes += len(body)
	}
	sp.Close()

	st, addr, err := serveCollector(ctx, dir)
	if err != nil {
		return err
	}
	link, err := newRelay(ctx, addr, *bits/8)
	if err != nil {
		return err
	}
	cfgText := fmt.Sprintf("id: pdg-01\ncollector: http://%s\ntoken: tok-drain\nspool: {dir: %s}\n"+
		"upload: {interval: 1s, batch_size: %d, timeout: 60s}\n"+
		"checks:\n  - {name: idle, kind: tcp, target: \"127.0.0.1:9\", interval: 1h, timeout: 1s}\n",
		link.addr, filepath.Join(dir, "spool"), *batch)
	pcfg, err := probe.ParseConfig([]byte(cfgText), dir)
	if err != nil {
		return err
	}
	p, err := probe.New(pcfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	start := time.Now()
	pctx, stopProbe := context.WithCancel(ctx)
	defer stopProbe()
	done := make(chan error, 1)
	go func() { done <- p.Run(pctx) }()
	for {
		states, err := st.Probes(ctx)
		if err != nil {
			return err
		}
		if len(states) == 1 && states[0].AckedSeq >= uint64(*n) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	stopProbe()
	<-done
	floor := time.Duration(float64(floorBytes) * 8 / *bits * float64(time.Second))
	fmt.Printf("drained %d results in %s through %.0f kbit/s\n", *n, took.Round(time.Millisecond), *bits/1000)
	fmt.Printf("gzip batch bodies %d bytes (%.1f bytes/result): floor %s; time/floor %.3f\n",
		floorBytes, float64(floorBytes)/float64(*n), floor.Round(time.Millisecond), took.Seconds()/floor.Seconds())
	fmt.Printf("link carried %d bytes up (headers and resends included), %d down\n", link.up.Load(), link.down.Load())
	return nil
}

// serveCollector starts an in-process collector on loopback for probe
// pdg-01 (token tok-drain).
func serveCollector(ctx context.Context, dir string) (*embedded.Store, string, error) {
	cfg := collector.DefaultConfig
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Probes = []collector.ProbeConfig{{ID: "pdg-01", TokenSHA256: sum("tok-drain"), Region: "99.01"}}
	regions, err := benchRegions()
	if err != nil {
		return nil, "", err
	}
	st, err := embedded.Open(cfg.DataDir)
	if err != nil {
		return nil, "", err
	}
	srv, err := collector.NewServer(&cfg, st, regions, slog.New(slog.DiscardHandler), collector.Options{})
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	go srv.Serve(ctx, ln)
	return st, ln.Addr().String(), nil
}

// relay is a rate-limited TCP link on loopback.
type relay struct {
	addr     string
	up, down atomic.Int64
}

// newRelay forwards connections to target, each direction through one
// token bucket of bytesPerSec shared by all connections, like a link.
func newRelay(ctx context.Context, target string, bytesPerSec float64) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	const chunk = 1460 // one TCP segment of a typical link
	upLim, downLim := rate.NewLimiter(rate.Limit(bytesPerSec), chunk), rate.NewLimiter(rate.Limit(bytesPerSec), chunk)
	r := &relay{addr: ln.Addr().String()}
	go func() { <-ctx.Done(); ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				var wg sync.WaitGroup
				wg.Go(func() { pipe(ctx, s, c, upLim, &r.up); s.(*net.TCPConn).CloseWrite() })
				pipe(ctx, c, s, downLim, &r.down)
				c.(*net.TCPConn).CloseWrite()
				wg.Wait()
			}()
		}
	}()
	return r, nil
}

// pipe copies src to dst at most lim's rate, one segment at a time.
func pipe(ctx context.Context, dst io.Writer, src io.Reader, lim *rate.Limiter, n *atomic.Int64) {
	buf := make([]byte, lim.Burst())
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if lim.WaitN(ctx, k) != nil {
				return
			}
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return
			}
			n.Add(int64(k))
		}
		if err != nil { // io.EOF or a closed connection
			return
		}
	}
}
