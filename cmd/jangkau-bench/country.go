package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jangkau/jangkau/checkspec"
	"github.com/jangkau/jangkau/geo/synth"
	"github.com/jangkau/jangkau/wire"
)

// runCountry is `jangkau-bench country`: issue 17's country scale,
// simulated, on the real jangkau binary. It generates a country of
// Indonesia's size (geo/synth), registers -probes probes at random desa,
// sends -hours of their -checks checks through POST /api/v1/ingest in gzip
// batches, then times every coverage level and a low-zoom tile in fresh
// collector processes and warm, with the collector's VmHWM after each.
//
//	jangkau-bench country [-bin jangkau] [-data DIR] [-probes 20000] [-checks 10] [-every 1h] [-runs 2]
//
// A probe checks every -interval (the probe's default, 30 s); -every is the
// spacing of the results actually sent for one check. With -every larger
// than -interval the day is a time-compressed sample: every check still
// has results in every hour of the window (what the hour rollups and so
// the views cost), only fewer of them.
func runCountry(args []string) error {
	fs := flag.NewFlagSet("country", flag.ContinueOnError)
	bin := fs.String("bin", "", "jangkau `binary` to run as the collector (default: go build ./cmd/jangkau)")
	data := fs.String("data", filepath.Join(os.TempDir(), "jangkau-bench-country"), "collector `dir` (regions, config, store), reused when built with the same parameters")
	p := countryParams{Seed: 1}
	fs.Uint64Var(&p.Seed, "seed", 1, "seed of the country and the probes")
	fs.IntVar(&p.Probes, "probes", 20000, "probes, each at a random desa")
	fs.IntVar(&p.Checks, "checks", 10, "checks per probe")
	fs.DurationVar(&p.Interval, "interval", checkspec.DefaultCheckConfig.Interval, "a probe's check interval (the real-time rate)")
	fs.DurationVar(&p.Every, "every", time.Hour, "time between two results of one check that are sent; -interval sends the full day")
	fs.IntVar(&p.Hours, "hours", 24, "hours of results, ending now")
	fs.Float64Var(&p.Scale, "scale", 1, "size of the country as a fraction of Indonesia's (desa, kecamatan, kabupaten; provinces at least 2)")
	fs.StringVar(&p.Form, "form", "levels", "regions file: desa (the collector unions every parent) or levels (every level in the file)")
	chunk := fs.Duration("chunk", 12*time.Hour, "each probe sends one batch per chunk of its day")
	senders := fs.Int("senders", 4, "concurrent HTTP senders")
	live := fs.Int("live", 60000, "real-time uploads sent after the day: 5 s of one probe's results each, from every probe in turn")
	runs := fs.Int("runs", 2, "fresh collector processes per view; the figures are medians")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if p.Form != "desa" && p.Form != "levels" {
		return fmt.Errorf("-form %q: want desa or levels", p.Form)
	}
	if p.Every < p.Interval {
		return fmt.Errorf("-every %s is shorter than -interval %s", p.Every, p.Interval)
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return err
	}
	if *bin == "" {
		var err error
		if *bin, err = buildJangkau(context.Background(), *data); err != nil {
			return err
		}
	}
	w, err := prepareCountry(*data, &p)
	if err != nil {
		return err
	}
	w.bin = *bin
	fmt.Printf("country: %d provinces, %d kabupaten, %d kecamatan, %d desa (%s form, %.1f MB); %d probes × %d checks\n",
		len(w.country.Levels[1]), len(w.country.Levels[2]), len(w.country.Levels[3]), len(w.country.Levels[4]), p.Form,
		float64(w.regionsBytes)/1e6, p.Probes, p.Checks)
	realRate := float64(p.Probes*p.Checks) / p.Interval.Seconds()
	fmt.Printf("real time: every %s, %.0f results/s; %s is %d results; uploads every %s: %.0f requests/s of %.1f results\n",
		p.Interval, realRate, time.Duration(p.Hours)*time.Hour, int64(float64(p.Hours)*3600*realRate),
		uploadEvery, float64(p.Probes)/uploadEvery.Seconds(), realRate*uploadEvery.Seconds()/float64(p.Probes))
	if !w.ingested {
		if err := ingestCountry(w, *chunk, *senders, *live); err != nil {
			return err
		}
	} else {
		fmt.Printf("store in %s already holds the day (ingested %s); delete it to ingest again\n", *data, p.End.Format(time.RFC3339))
	}
	return measureCountryViews(w, *runs)
}

// uploadEvery is the probe's default upload interval (probe.DefaultConfig).
const uploadEvery = 5 * time.Second

// countryParams describe a built collector dir; a -data dir whose
// bench.json matches them is reused.
type countryParams struct {
	Seed     uint64        `json:"seed"`
	Probes   int           `json:"probes"`
	Checks   int           `json:"checks"`
	Interval time.Duration `json:"interval"`
	Every    time.Duration `json:"every"`
	Hours    int           `json:"hours"`
	Form     string        `json:"form"`
	Scale    float64       `json:"scale"`
	End      time.Time     `json:"end"`
	Results  int64         `json:"results"` // sent in the day, once ingested
}

// countryWorld is the generated country, its probes and the collector dir.
type countryWorld struct {
	dir, bin     string
	p            countryParams
	country      *synth.Country
	probes       []countryProbe
	regionsBytes int64
	ingested     bool
}

type countryProbe struct {
	id, token, desa string
	lat, lon        float64
	class           int // 0 healthy, 1 flaky, 2 down
}

func prepareCountry(dir string, p *countryParams) (*countryWorld, error) {
	w := &countryWorld{dir: dir, p: *p}
	o := synth.Indonesia
	o.Seed = p.Seed
	if p.Scale != 1 {
		scale := func(n int) int { return max(int(float64(n)*p.Scale), 1) }
		o.Provinces = max(scale(o.Provinces), 2)
		o.Kabupaten, o.Kecamatan, o.Desa = max(scale(o.Kabupaten), o.Provinces), scale(o.Kecamatan), scale(o.Desa)
	}
	c, err := synth.Generate(o)
	if err != nil {
		return nil, err
	}
	w.country = c
	levels := []int{4}
	if p.Form == "levels" {
		levels = []int{1, 2, 3, 4}
	}
	var buf bytes.Buffer
	if err := c.WriteGeoJSON(&buf, synth.WriteOptions{Levels: levels}); err != nil {
		return nil, err
	}
	w.regionsBytes = int64(buf.Len())
	if err := os.WriteFile(filepath.Join(dir, "country.geojson"), buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(p.Seed, 17))
	desa := c.Levels[4]
	var cfg strings.Builder
	for i := range p.Probes {
		d := desa[rng.IntN(len(desa))]
		ctr := c.CellCenter(d.Cells.X0, d.Cells.Y0)
		cp := countryProbe{id: fmt.Sprintf("p%05d", i), token: fmt.Sprintf("country-token-%05d", i), desa: d.Code, lat: ctr[1], lon: ctr[0]}
		switch x := rng.Float64(); {
		case x < 0.04:
			cp.class = 2
		case x < 0.14:
			cp.class = 1
		}
		w.probes = append(w.probes, cp)
		sum := sha256.Sum256([]byte(cp.token))
		fmt.Fprintf(&cfg, "  - {id: %s, token_sha256: %s, region: %q, location: {lat: %.6f, lon: %.6f}}\n",
			cp.id, hex.EncodeToString(sum[:]), cp.desa, cp.lat, cp.lon)
	}
	if err := os.WriteFile(filepath.Join(dir, "probes.yaml.part"), []byte(cfg.String()), 0o644); err != nil {
		return nil, err
	}
	// A dir built with the same parameters keeps its store and its day.
	var old countryParams
	if b, err := os.ReadFile(filepath.Join(dir, "bench.json")); err == nil && json.Unmarshal(b, &old) == nil && old.Results > 0 {
		cmp := old
		cmp.End, cmp.Results = p.End, p.Results
		if cmp == *p {
			*p = old
			w.p, w.ingested = old, true
			return w, nil
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, "bench.json"))
	p.End = time.Now().UTC().Truncate(time.Minute)
	w.p = *p
	return w, nil
}

// startCollector starts a fresh collector process on the dir and waits for
// /healthz; it returns how long that took (the regions' load is most of it).
func (w *countryWorld) startCollector() (*binCollector, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	probes, err := os.ReadFile(filepath.Join(w.dir, "probes.yaml.part"))
	if err != nil {
		return nil, 0, err
	}
	cfg := fmt.Sprintf(`listen: %q
data_dir: data
public_read: true
regions: {file: country.geojson, population_property: penduduk}
limits: {probe_requests_per_second: 1000, probe_burst: 1000}
probes:
%s`, addr, probes)
	path := filepath.Join(w.dir, "collector.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, 0, err
	}
	c := &binCollector{url: "http://" + addr}
	c.cmd = exec.Command(w.bin, "collector", "--config", path, "--log-level", "warn")
	c.cmd.Stderr = os.Stderr
	start := time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(c.url + "/healthz"); err == nil {
			resp.Body.Close()
			return c, time.Since(start), nil
		}
		select {
		case err := <-exited:
			return nil, 0, fmt.Errorf("collector exited before answering /healthz: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			c.cmd.Process.Kill()
			return nil, 0, fmt.Errorf("collector did not answer /healthz on %s", addr)
		}
	}
}

// stopCollector interrupts the process and waits for it (startCollector's
// goroutine reaps it; ProcessState is set once it has).
func stopCollector(c *binCollector) {
	c.cmd.Process.Signal(os.Interrupt)
	for c.cmd.ProcessState == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// countryChecks are a district probe's ten checks: its uplink and the
// province's e-services.
var countryChecks = []struct{ name, kind, service string }{
	{"gateway", wire.KindTCP, ""},
	{"anchor", wire.KindICMP, ""},
	{"resolver", wire.KindDNS, ""},
	{"perizinan", wire.KindHTTP, "perizinan"},
	{"dukcapil", wire.KindHTTP, "dukcapil"},
	{"pajak", wire.KindHTTP, "pajak"},
	{"bpjs", wire.KindHTTP, "bpjs"},
	{"sekolah", wire.KindHTTP, "sekolah"},
	{"puskesmas", wire.KindHTTP, "puskesmas"},
	{"lapor", wire.KindHTTP, "lapor"},
}

// countryResult is one check's result at t by a probe of class class.
func countryResult(seq uint64, t time.Time, check int, class int, rng *rand.Rand) wire.Result {
	cc := countryChecks[check%len(countryChecks)]
	name := cc.name
	if check >= len(countryChecks) {
		name += strconv.Itoa(check / len(countryChecks))
	}
	r := wire.Result{Seq: seq, Time: t, Check: name, Kind: cc.kind, Service: cc.service,
		Target: "192.0.2." + strconv.Itoa(1+check%250) + ":443", OK: true}
	fail := [...]float64{0.01, 0.3, 1}[class]
	if rng.Float64() < fail {
		r.OK, r.DurationMS, r.Error = false, 10000, "i/o timeout"
		return r
	}
	r.DurationMS = 20 + 200*rng.ExpFloat64()
	if cc.kind == wire.KindHTTP {
		r.StatusCode = 200
	}
	return r
}

// batchFor is probe i's results in [from, to) as one gzip batch, with
// seqs from *seq on, in time order over its checks.
func (w *countryWorld) batchFor(i int, from, to time.Time, seq *uint64) ([]byte, int, error) {
	pr := w.probes[i]
	rng := rand.New(rand.NewPCG(w.p.Seed^uint64(i), uint64(from.Unix())))
	start := w.p.End.Add(-time.Duration(w.p.Hours) * time.Hour)
	type at struct {
		t     time.Time
		check int
	}
	var ats []at
	for k := range w.p.Checks {
		// Each check has its own phase, as a probe's schedule spreads them.
		phase := time.Duration(rand.New(rand.NewPCG(uint64(i), uint64(k))).Int64N(int64(w.p.Every)))
		t := start.Add(phase)
		if t.Before(from) {
			t = t.Add(from.Sub(t).Truncate(w.p.Every))
			if t.Before(from) {
				t = t.Add(w.p.Every)
			}
		}
		for ; t.Before(to); t = t.Add(w.p.Every) {
			ats = append(ats, at{t, k})
		}
	}
	if len(ats) == 0 {
		return nil, 0, nil
	}
	slices.SortFunc(ats, func(a, b at) int { return a.t.Compare(b.t) })
	rs := make([]wire.Result, len(ats))
	for j, a := range ats {
		*seq++
		rs[j] = countryResult(*seq, a.t, a.check, pr.class, rng)
	}
	body, err := gzipBatch(wire.Batch{Probe: pr.id, SentAt: to, FirstSeq: rs[0].Seq, Results: rs})
	return body, len(rs), err
}

// postAs sends one gzip batch with a probe's token, retrying while the
// collector asks to (503 and 429 with Retry-After, as a probe would).
func postAs(client *http.Client, url, token string, body []byte) error {
	for attempt := 0; ; attempt++ {
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
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) && attempt < 100:
			time.Sleep(50 * time.Millisecond)
			continue
		}
		return fmt.Errorf("ingest answered %s: %s", resp.Status, clipOut(string(msg)))
	}
}
