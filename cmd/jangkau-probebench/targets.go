package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// roleEnv makes the bench's own binary the target server (a separate
// process, so that its CPU is nobody's).
const roleEnv = "JANGKAU_PROBEBENCH_ROLE"

// handlerSleep is what every HTTP target's handler waits.
const handlerSleep = 20 * time.Millisecond

// hit is one request the target server answered: which target, the
// scraper's nonce (blackbox) if any, when the handler started and how
// long it ran (its true time).
type hit struct {
	Target int    `json:"t"`
	Nonce  string `json:"n,omitempty"`
	Start  int64  `json:"s"` // Unix ns
	Dur    int64  `json:"d"` // ns
}

// serveTargets is the target server's main: GET /t/{i} sleeps 20 ms;
// GET /hits returns and forgets the hits so far. It prints its address.
func serveTargets() error {
	var mu sync.Mutex
	var hits []hit
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{i}", func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		i, _ := strconv.Atoi(r.PathValue("i"))
		time.Sleep(handlerSleep)
		w.Write([]byte("ok\n"))
		d := time.Since(t0)
		mu.Lock()
		hits = append(hits, hit{Target: i, Nonce: r.URL.Query().Get("n"), Start: t0.UnixNano(), Dur: int64(d)})
		mu.Unlock()
	})
	mux.HandleFunc("GET /hits", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		h := hits
		hits = nil
		mu.Unlock()
		json.NewEncoder(w).Encode(h)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return (&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}).Serve(ln)
}

// targetServer is the running target process, seen from the bench.
type targetServer struct {
	p    *proc
	addr string
}

// startTargets re-executes this binary as the target server.
func startTargets(ctx context.Context, dir string) (*targetServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "targets.addr")
	p, err := startProc(self, out, []string{roleEnv + "=targets"})
	if err != nil {
		return nil, err
	}
	for range 100 {
		b, _ := os.ReadFile(out)
		if line, _, ok := strings.Cut(string(b), "\n"); ok {
			ts := &targetServer{p: p, addr: line}
			return ts, waitHTTP(ctx, "http://"+line+"/hits", 5*time.Second, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(time.Second)
	return nil, fmt.Errorf("target server wrote no address to %s", out)
}

func (ts *targetServer) url(i int) string { return fmt.Sprintf("http://%s/t/%03d", ts.addr, i) }

// takeHits returns the hits since the last call and forgets them.
func (ts *targetServer) takeHits(ctx context.Context) ([]hit, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ts.addr+"/hits", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var h []hit
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// reported is what a tool said of one HTTP check, in ms: its processing
// phase and its total, with what identifies the request it made.
type reported struct {
	target     int
	nonce      string // blackbox: exact match
	start      int64  // jangkau: the run's start, Unix ns (ms precision)
	processing float64
	total      float64
}

// latencyError matches each report to the server's hit and returns the
// mean of (reported − true handler time) for processing and total, the
// mean true time, and how many reports matched. A jangkau report matches
// the first unused hit of its target within 2 s after its start.
func latencyError(reps []reported, hits []hit) (proc, total, truth float64, n int) {
	byNonce := map[string]hit{}
	byTarget := map[int][]hit{}
	for _, h := range hits {
		if h.Nonce != "" {
			byNonce[h.Nonce] = h
		} else {
			byTarget[h.Target] = append(byTarget[h.Target], h) // in arrival order
		}
	}
	used := map[int64]bool{}
	var sp, st, sh float64
	for _, r := range reps {
		var h hit
		ok := false
		if r.nonce != "" {
			h, ok = byNonce[r.nonce]
		} else {
			for _, c := range byTarget[r.target] {
				if !used[c.Start] && c.Start >= r.start && c.Start-r.start < int64(2*time.Second) {
					h, ok = c, true
					used[c.Start] = true
					break
				}
			}
		}
		if !ok {
			continue
		}
		truth := float64(h.Dur) / 1e6
		sp += r.processing - truth
		st += r.total - truth
		sh += truth
		n++
	}
	if n == 0 {
		return nanV, nanV, nanV, 0
	}
	return sp / float64(n), st / float64(n), sh / float64(n), n
}
