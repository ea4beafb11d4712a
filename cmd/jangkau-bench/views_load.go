package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// loadWhich names the stores a load fills.
type loadWhich struct{ embedded, influx, pg bool }

func (w loadWhich) has(name string) bool {
	switch {
	case strings.HasPrefix(name, "embedded"):
		return w.embedded
	case strings.HasPrefix(name, "influx"):
		return w.influx
	default:
		return w.pg
	}
}

func (w loadWhich) String() string {
	var s []string
	for _, n := range []string{"embedded", "influxdb", "postgis"} {
		if w.has(n) {
			s = append(s, n)
		}
	}
	return strings.Join(s, ", ")
}

// parseReload reads -reload: "influxdb", "embedded" or both.
func parseReload(v string) (loadWhich, error) {
	var w loadWhich
	for _, f := range strings.Split(v, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "influxdb":
			w.influx = true
		case "embedded":
			w.embedded = true
		default:
			return w, fmt.Errorf("-reload %q: a comma-separated list of influxdb and embedded (PostGIS holds the same rows whatever jangkau build)", v)
		}
	}
	return w, nil
}

// loadStore counts what one store has taken during the load.
type loadStore struct {
	name  string
	done  atomic.Int64
	took  atomic.Int64 // nanoseconds to the last result; 0 while loading
	start time.Time
}

func (s *loadStore) add(n int) { s.done.Add(int64(n)) }

func (s *loadStore) finish() { s.took.Store(int64(time.Since(s.start))) }

// line is the store's progress: results taken, the rate since the start
// and the time left at that rate, or its total once done.
func (s *loadStore) line(total int) string {
	done := s.done.Load()
	if t := time.Duration(s.took.Load()); t > 0 {
		return fmt.Sprintf("%s done, %s in %s (%s/s)", s.name, thousands(int(done)), t.Round(time.Second), thousands(int(float64(done)/t.Seconds())))
	}
	el := time.Since(s.start)
	rate := float64(done) / el.Seconds()
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(int64(total)-done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	return fmt.Sprintf("%s %s (%.0f%%, %s/s, ETA %s)", s.name, thousands(int(done)), 100*float64(done)/float64(total), thousands(int(rate)), eta)
}

// loadAvg is the first three fields of /proc/loadavg ("" elsewhere).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// loadBatch is one gzip batch of a probe, as its uploader sends it.
type loadBatch struct {
	probe int
	first uint64 // the seq of its first result
	n     int
	body  []byte
}

// loadSink takes the batches of one store: post is called for each, in
// seq order per probe, from up to -senders goroutines at once; finished
// once after the last.
type loadSink struct {
	post     func(loadBatch) error
	finished func()
}

// spread makes every batch of d once (JSON, gzip) and hands it to each
// sink. lanes goroutines each own every lanes-th probe and make its
// batches in seq order; each lane has one goroutine per sink that posts
// them, so a sink has up to lanes batches in flight and a slow sink
// holds the others back by at most a few batches per lane. The first
// error ends it: the rest is dropped without blocking, and it is
// returned.
func (d *viewsData) spread(ctx context.Context, lanes, size int, sinks ...loadSink) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(err error) {
		if err != nil {
			cancel(err)
		}
	}
	lanes = max(1, lanes)
	var makers sync.WaitGroup
	senders := make([]sync.WaitGroup, len(sinks))
	for g := range lanes {
		chs := make([]chan loadBatch, len(sinks))
		for k := range chs {
			chs[k] = make(chan loadBatch, 8)
		}
		makers.Go(func() {
			defer func() {
				for _, ch := range chs {
					close(ch)
				}
			}()
			for i := g; i < len(d.probes) && ctx.Err() == nil; i += lanes {
				fail(d.batches(i, size, func(bt wire.Batch) error {
					body, err := gzipFast(bt)
					if err != nil {
						return err
					}
					lb := loadBatch{probe: i, first: bt.FirstSeq, n: len(bt.Results), body: body}
					for _, ch := range chs {
						select {
						case ch <- lb:
						case <-ctx.Done():
							return context.Cause(ctx)
						}
					}
					return nil
				}))
			}
		})
		for k, sk := range sinks {
			senders[k].Go(func() {
				for lb := range chs[k] {
					if ctx.Err() != nil {
						continue // drain, so that the lane never blocks
					}
					fail(sk.post(lb))
				}
			})
		}
	}
	var all sync.WaitGroup
	for k, sk := range sinks {
		all.Go(func() {
			senders[k].Wait()
			if sk.finished != nil {
				sk.finished()
			}
		})
	}
	makers.Wait()
	all.Wait()
	return context.Cause(ctx)
}

// gzipFast is gzipBatch at gzip.BestSpeed: the collectors inflate it the
// same way, and the harness spends less of the shared CPUs making it.
func gzipFast(b wire.Batch) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// load fills the three stores at once with the same results: every
// probe's batches through POST /api/v1/ingest into the embedded collector
// and into one of the two InfluxDB collectors (even probes to a, odd to
// b), and the same rows COPYed into PostGIS. -senders lanes each own
// every senders-th probe: a lane makes each batch once (JSON, gzip) and
// one sender per store posts it, in seq order, so each store has -senders
// requests in flight, and with an even -senders the lanes of even probes
// feed collector a while those of odd ones feed b. The COPY runs beside
// them. Progress (results/s, ETA per store, load average) goes to stdout
// every -progress.
func (b *viewsBench) load(ctx context.Context, which loadWhich) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var cs []*viewsCollector
	defer func() {
		for _, c := range cs {
			if c != nil {
				c.stop()
			}
		}
	}()
	b.loading = true
	defer func() { b.loading = false }()
	for _, name := range []string{"embedded", "influx-a", "influx-b"} {
		if !which.has(name) {
			cs = append(cs, nil)
			continue
		}
		c, err := b.collector(ctx, name)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	total := b.d.perProbe * len(b.d.probes)
	now := time.Now()
	emb, inf, pg := &loadStore{name: "embedded", start: now}, &loadStore{name: "influxdb (a+b)", start: now}, &loadStore{name: "postgis COPY", start: now}
	var stores []*loadStore
	for _, s := range []*loadStore{emb, inf, pg} {
		if which.has(s.name) {
			stores = append(stores, s)
		}
	}
	fmt.Printf("load: %s results into %s at once: gzip batches of %d through POST /api/v1/ingest, %d senders per store; load average %s\n",
		thousands(total), which, b.o.batch, b.o.senders, loadAvg())

	var wg sync.WaitGroup
	fail := func(err error) {
		if err != nil {
			cancel(err)
		}
	}
	if which.pg {
		wg.Go(func() {
			fail(b.pg.load(ctx, b.d, b.o.regions, pg.add))
			pg.finish()
		})
	}
	post := func(st *loadStore, to func(probe int) *viewsCollector) loadSink {
		return loadSink{
			post: func(lb loadBatch) error {
				if err := postRetry(ctx, to(lb.probe), b.d.probes[lb.probe].id, lb.body); err != nil {
					return err
				}
				st.add(lb.n)
				return nil
			},
			finished: st.finish,
		}
	}
	var sinks []loadSink
	if which.embedded {
		sinks = append(sinks, post(emb, func(int) *viewsCollector { return cs[0] }))
	}
	if which.influx {
		sinks = append(sinks, post(inf, func(p int) *viewsCollector { return cs[1+p%2] }))
	}
	wg.Go(func() { fail(b.d.spread(ctx, b.o.senders, b.o.batch, sinks...)) })
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	tick := time.NewTicker(b.o.progress)
	defer tick.Stop()
	report := func() {
		var parts []string
		for _, s := range stores {
			parts = append(parts, s.line(total))
		}
		fmt.Printf("load %s: %s; load average %s\n", time.Since(now).Round(time.Second), strings.Join(parts, "; "), loadAvg())
	}
wait:
	for {
		select {
		case <-all:
			break wait
		case <-tick.C:
			report()
		}
	}
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	report()
	var parts []string
	for _, s := range stores {
		parts = append(parts, s.line(total))
	}
	fmt.Printf("ingest: %s results through POST /api/v1/ingest (gzip batches of %d, %d senders per store) and COPY: %s; all %s\n",
		thousands(total), b.o.batch, b.o.senders, strings.Join(parts, "; "), time.Since(now).Round(time.Second))
	stopAt := time.Now()
	for _, c := range cs {
		if c != nil {
			c.stop()
		}
	}
	cs = nil
	fmt.Printf("load: collectors stopped in %s; stores in %s: %s\n", time.Since(stopAt).Round(time.Second), b.o.data, storeSizes(b.o.data))
	raw, err := json.Marshal(b.params)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.o.data, "views.json"), raw, 0o644)
}

// storeSizes is the disk use of each store under data.
func storeSizes(data string) string {
	var parts []string
	for _, sub := range []string{"embedded", "influxdb", "pg"} {
		var n int64
		filepath.Walk(filepath.Join(data, sub), func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				n += fi.Size()
			}
			return nil
		})
		parts = append(parts, fmt.Sprintf("%s %.2f GB", sub, float64(n)/1e9))
	}
	return strings.Join(parts, ", ")
}

// rebuildRollups runs `jangkau store rollup-rebuild` of the bench's
// binary on the InfluxDB data, as collector a, over the data's window:
// for stores written by a build that kept fewer rollup levels than the
// one measured. The old rollups are dropped first: collector a's id then
// holds every probe's rollups, one copy of each point, and readers (the
// largest count of a point across collectors) give the same answers.
func (b *viewsBench) rebuildRollups(ctx context.Context) error {
	cfg, err := collectorConfig(b.d, b.o.regions, filepath.Join(b.o.data, "influx-a"), "127.0.0.1:1", b.storage("bench-a"))
	if err != nil {
		return err
	}
	path := filepath.Join(b.o.data, "influx-a.rebuild.yaml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return err
	}
	dropped, err := b.ix.dropRollups(ctx)
	if err != nil {
		return fmt.Errorf("rollup-rebuild: dropping the old rollups: %w", err)
	}
	fmt.Printf("rollup-rebuild: dropped %s\n", strings.Join(dropped, ", "))
	from, to := b.params.Anchor.Add(-b.o.window).Truncate(time.Hour), time.Now().UTC()
	args := []string{"store", "rollup-rebuild", "--config", path, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
	fmt.Printf("rollup-rebuild: %s %s\n", b.bin, strings.Join(args, " "))
	start := time.Now()
	c := exec.CommandContext(ctx, b.bin, args...)
	c.Stdout, c.Stderr = os.Stdout, os.Stdout
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s store rollup-rebuild: %w", b.bin, err)
	}
	fmt.Printf("rollup-rebuild: done in %s; load average %s\n", time.Since(start).Round(time.Second), loadAvg())
	return nil
}

// postRetry posts a batch as a probe's uploader does: a 503 (the store
// could not take it now) or 429 is sent again after a pause, up to 10
// times; the collector drops the seqs it already has.
func postRetry(ctx context.Context, c *viewsCollector, probe string, body []byte) error {
	var err error
	for try := range 10 {
		if err = c.post(ctx, probe, body); err == nil || !retryable(err) {
			return err
		}
		fmt.Printf("load: %v; sending again (%d)\n", err, try+1)
		select {
		case <-time.After(time.Duration(try+1) * 2 * time.Second):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return err
}

func retryable(err error) bool {
	var he *httpStatusError
	return errors.As(err, &he) && (he.code == http.StatusServiceUnavailable || he.code == http.StatusTooManyRequests)
}

// dropRollups drops the InfluxDB rollup measurements (jangkau_rollup_*,
// not the change points) before a rebuild, so that the rebuilt rollups
// are one copy of each point, as a load writes them, and not a second
// one under collector a beside b's. It returns the measurements dropped.
func (ix *viewsInflux) dropRollups(ctx context.Context) ([]string, error) {
	db, _, _ := strings.Cut(ix.bucket, "/")
	var show struct {
		Results []struct {
			Series []struct {
				Values [][]string `json:"values"`
			} `json:"series"`
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := ix.query(ctx, db, "SHOW MEASUREMENTS", &show); err != nil {
		return nil, err
	}
	var dropped []string
	for _, r := range show.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("SHOW MEASUREMENTS: %s", r.Error)
		}
		for _, s := range r.Series {
			for _, v := range s.Values {
				if len(v) == 0 || !strings.HasPrefix(v[0], "jangkau_rollup_") || v[0] == "jangkau_rollup_change" {
					continue
				}
				if err := ix.query(ctx, db, fmt.Sprintf("DROP MEASUREMENT %q", v[0]), nil); err != nil {
					return dropped, err
				}
				dropped = append(dropped, v[0])
			}
		}
	}
	return dropped, nil
}

// query runs q on db (POST /query, the token as user:password) and
// decodes the answer into out when it is not nil.
func (ix *viewsInflux) query(ctx context.Context, db, q string, out any) error {
	form := url.Values{"db": {db}, "q": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ix.url+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user, pass, ok := strings.Cut(ix.token, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("InfluxDB %s: HTTP %d %s", q, resp.StatusCode, clipOut(string(body)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}
