package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jangkau/jangkau/collector"
	"github.com/jangkau/jangkau/collector/partner"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
)

// exportKey is the bench partner's key.
const exportKey = "bench-export-key"

// runExport measures the raw results export: it fills an embedded store
// with -results typical results, starts a collector on it in a child
// process (this binary, "export -serve"), streams every result as CSV (or
// NDJSON) through GET /api/v1/export/results, and reports rows/s and the
// collector's memory: VmHWM (peak resident set, which includes the pages
// of the store's memory-mapped file the scan touched) before and after,
// and the peak of RssAnon (the heap and stacks: what the export itself
// allocates), sampled every 20 ms.
//
//	jangkau-bench export [-results 1000000] [-format csv] [-keep DIR]
func runExport(args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	n := fs.Int("results", 1_000_000, "results in the store, all streamed")
	format := fs.String("format", "csv", "csv or ndjson")
	keep := fs.String("keep", "", "store `dir` to reuse (filled if empty); default a temp dir, removed")
	serve := fs.Bool("serve", false, "internal: run the collector on -keep (the child process)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *serve {
		return serveExport(*keep)
	}
	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "jangkau-bench-export-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := fillExportStore(dir, *n, t0); err != nil {
		return err
	}
	child, addr, err := startExportChild(dir)
	if err != nil {
		return err
	}
	defer func() {
		child.Process.Signal(syscall.SIGTERM)
		child.Wait()
	}()
	pid := child.Process.Pid
	before := procStatus(pid)
	var peakAnon int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			peakAnon = max(peakAnon, procStatus(pid)["RssAnon"])
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	url := fmt.Sprintf("http://%s/api/v1/export/results?from=%s&to=%s&format=%s&limit=%d", addr,
		t0.Format(time.RFC3339), t0.Add(time.Duration(*n+1)*time.Second).Format(time.RFC3339), *format, *n)
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+exportKey)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		close(stop)
		return err
	}
	lines, bytesRead, err := countLines(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("export answered %s", resp.Status)
	}
	after := procStatus(pid)
	rows := lines
	if *format == "csv" {
		rows-- // the header
	}
	if rows != *n {
		return fmt.Errorf("streamed %d rows, want %d", rows, *n)
	}
	fmt.Printf("export %s: %d rows, %.1f MB in %.2f s: %.0f rows/s, %.1f MB/s\n", *format, rows,
		float64(bytesRead)/1e6, elapsed.Seconds(), float64(rows)/elapsed.Seconds(), float64(bytesRead)/1e6/elapsed.Seconds())
	fmt.Printf("collector VmHWM: %.1f MB before, %.1f MB after: %+.1f MB (includes the store's mmapped pages the scan touched: %.1f MB file)\n",
		kb(before["VmHWM"]), kb(after["VmHWM"]), kb(after["VmHWM"]-before["VmHWM"]), kb(after["RssFile"]))
	fmt.Printf("collector RssAnon: %.1f MB before, %.1f MB peak during the stream: %+.1f MB\n",
		kb(before["RssAnon"]), kb(peakAnon), kb(peakAnon-before["RssAnon"]))
	return nil
}

func kb(v int64) float64 { return float64(v) / 1024 }

// fillExportStore writes n typical results of 10 probes, a second apart,
// unless the store already holds them.
func fillExportStore(dir string, n int, t0 time.Time) error {
	marker := filepath.Join(dir, fmt.Sprintf("filled-%d", n))
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	st, err := embedded.Open(filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	defer st.Close()
	const probes, batch = 10, 5000
	start := time.Now()
	seqs := make([]uint64, probes)
	for i := 0; i < n; i += batch * probes {
		for p := range probes {
			w := store.Write{Probe: fmt.Sprintf("pdg-%02d", p), Received: time.Now()}
			for j := i + p; j < min(n, i+batch*probes); j += probes {
				seqs[p]++
				r := typical(seqs[p], t0.Add(time.Duration(j)*time.Second))
				w.Results = append(w.Results, r)
				w.Cells = append(w.Cells, rollup.Cell{Region: "99.01", Carrier: "telkom", Service: r.Service, Kind: r.Kind, Probe: w.Probe})
			}
			if len(w.Results) == 0 {
				continue
			}
			if _, err := st.Write(context.Background(), w); err != nil {
				return err
			}
		}
	}
	fmt.Printf("filled the store with %d results in %.1f s\n", n, time.Since(start).Seconds())
	return os.WriteFile(marker, nil, 0o600)
}

// startExportChild runs this binary as the collector and reads its address.
func startExportChild(dir string) (*exec.Cmd, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(self, "export", "-serve", "-keep", dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, "", fmt.Errorf("collector child: %w", err)
	}
	return cmd, strings.TrimSpace(line), nil
}

// serveExport is the child: a collector with the embedded store in dir and
// one partner, printing its address.
func serveExport(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := collector.DefaultConfig
	cfg.DataDir = filepath.Join(dir, "data")
	for p := range 10 {
		id := fmt.Sprintf("pdg-%02d", p)
		cfg.Probes = append(cfg.Probes, collector.ProbeConfig{ID: id, TokenSHA256: sum("tok-" + id), Region: "99.01", Carrier: "telkom"})
	}
	cfg.Partners = []partner.Config{{Name: "bench", KeySHA256: sum(exportKey), Raw: true}}
	regions, err := benchRegions()
	if err != nil {
		return err
	}
	st, err := embedded.Open(cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := collector.NewServer(&cfg, st, regions, slog.New(slog.DiscardHandler), collector.Options{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// procStatus reads the kB figures of /proc/PID/status.
func procStatus(pid int) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || !strings.HasSuffix(v, " kB") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, " kB")), 10, 64)
		if err == nil {
			out[k] = n
		}
	}
	return out
}

func countLines(r io.Reader) (lines int, n int64, err error) {
	buf := make([]byte, 256<<10)
	for {
		k, err := r.Read(buf)
		n += int64(k)
		lines += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return lines, n, nil
		}
		if err != nil {
			return lines, n, err
		}
	}
}
