package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/wire"
)

func runIngest(args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	runs := fs.Int("runs", 3, "runs; the figures are medians")
	senders := fs.Int("senders", 4, "concurrent writers / HTTP senders, each its own probe")
	batches := fs.Int("batches", 50, "batches per sender per run")
	size := fs.Int("batch", 1000, "results per batch")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the runs to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var raw, e2e, ratio []float64
	for run := 1; run <= *runs; run++ {
		r, err := rawRate(*senders, *batches, *size)
		if err != nil {
			return err
		}
		h, err := httpRate(*senders, *batches, *size)
		if err != nil {
			return err
		}
		raw, e2e, ratio = append(raw, r), append(e2e, h), append(ratio, h/r)
		fmt.Printf("run %d: store %.0f results/s, http %.0f results/s, ratio %.2f\n", run, r, h, h/r)
	}
	fmt.Printf("median of %d: store %.0f results/s, http %.0f results/s, ratio %.2f (senders %d, batch %d, %d results per run)\n",
		*runs, median(raw), median(e2e), median(ratio), *senders, *size, *senders**batches**size)
	return nil
}

// rawRate writes batches straight into a fresh embedded store.
func rawRate(senders, batches, size int) (float64, error) {
	dir, err := os.MkdirTemp("", "jangkau-bench-store-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	st, err := embedded.Open(dir)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	t0 := time.Now().UTC().Add(-time.Duration(batches*size) * 10 * time.Second)
	work := make([][]store.Write, senders)
	for s := range work {
		for b := range batches {
			work[s] = append(work[s], store.Write{Probe: fmt.Sprintf("p%02d", s), Received: time.Now(),
				Results: results(uint64(b*size+1), size, t0)})
		}
	}
	return timed(senders, batches*size, func(s int) error {
		for _, w := range work[s] {
			if _, err := st.Write(context.Background(), w); err != nil {
				return err
			}
		}
		return nil
	})
}

// timed runs fn for each sender at once and returns results per second.
func timed(senders, perSender int, fn func(s int) error) (float64, error) {
	var wg sync.WaitGroup
	errs := make([]error, senders)
	start := time.Now()
	for s := range senders {
		wg.Go(func() { errs[s] = fn(s) })
	}
	wg.Wait()
	el := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(senders*perSender) / el.Seconds(), nil
}

// httpRate serves a real collector on loopback and posts pre-encoded gzip
// batches to it, one probe per sender.
func httpRate(senders, batches, size int) (float64, error) {
	dir, err := os.MkdirTemp("", "jangkau-bench-http-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cfg := collector.DefaultConfig
	cfg.DataDir = dir
	cfg.Limits.ProbeRequestsPerSecond, cfg.Limits.ProbeBurst = 1000, 1000
	for s := range senders {
		cfg.Probes = append(cfg.Probes, collector.ProbeConfig{ID: fmt.Sprintf("p%02d", s),
			TokenSHA256: sum(fmt.Sprintf("tok-%02d", s)), Region: "99.01"})
	}
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	regions, err := benchRegions()
	if err != nil {
		return 0, err
	}
	st, err := embedded.Open(dir)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	srv, err := collector.NewServer(&cfg, st, regions, slog.New(slog.DiscardHandler), collector.Options{})
	if err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()

	now := time.Now().UTC()
	t0 := now.Add(-time.Duration(batches*size) * 10 * time.Second)
	bodies := make([][][]byte, senders)
	for s := range bodies {
		for b := range batches {
			first := uint64(b*size + 1)
			body, err := gzipBatch(wire.Batch{Probe: fmt.Sprintf("p%02d", s), SentAt: now, FirstSeq: first, Results: results(first, size, t0)})
			if err != nil {
				return 0, err
			}
			bodies[s] = append(bodies[s], body)
		}
	}
	url := "http://" + ln.Addr().String() + "/api/v1/ingest"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	return timed(senders, batches*size, func(s int) error {
		for _, body := range bodies[s] {
			if err := post(client, url, fmt.Sprintf("tok-%02d", s), body); err != nil {
				return err
			}
		}
		return nil
	})
}

func post(client *http.Client, url, token string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ingest answered %s: %s", resp.Status, msg)
	}
	return nil
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// benchRegions is one square kabupaten, 99.01, that every bench probe is in.
func benchRegions() (*region.Regions, error) {
	sq := orb.Polygon{{{106, -6.5}, {106.5, -6.5}, {106.5, -6}, {106, -6}, {106, -6.5}}}
	return region.New([]*region.Region{{Code: "99.01", Name: "Bench", Level: 2, Geometry: sq, Bound: sq.Bound()}})
}
