package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/embedded"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// coverageParams describe a built store; a -data dir whose bench.json
// matches them is reused, so reruns skip the load.
type coverageParams struct {
	Regions string        `json:"regions"`
	Results int           `json:"results"`
	Probes  int           `json:"probes"`
	Window  time.Duration `json:"window"`
	Now     time.Time     `json:"now"`
	Seed    uint64        `json:"seed"`
}

// benchNow is the bench's clock: the middle of an hour, so that a window
// reads minute rows at both edges, as a live query does.
var benchNow = time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)

// benchChecks are each probe's checks: three of the uplink, two e-services.
var benchChecks = []struct{ name, kind, service string }{
	{"gateway", wire.KindTCP, ""},
	{"anchor", wire.KindICMP, ""},
	{"resolver", wire.KindDNS, ""},
	{"perizinan", wire.KindHTTP, "perizinan"},
	{"dukcapil", wire.KindHTTP, "dukcapil"},
}

var benchCarriers = []string{"telkomsel", "indosat", "xl", "smartfren"}

func runCoverage(args []string) error {
	fs := flag.NewFlagSet("coverage", flag.ContinueOnError)
	regionsFile := fs.String("regions", defaultGeo("banten-adm4.geojson"), "desa boundaries (GeoJSON)")
	data := fs.String("data", filepath.Join(os.TempDir(), "jangkau-bench-coverage"), "store `dir`, reused when built with the same parameters")
	n := fs.Int("results", 10_000_000, "results in the window")
	probes := fs.Int("probes", 2000, "probes, each at a random point of a random desa")
	window := fs.Duration("window", 24*time.Hour, "window the results spread over and the query reads")
	runs := fs.Int("runs", 3, "cold and warm runs; the figures are medians")
	writers := fs.Int("writers", 8, "goroutines calling Store.Write while loading")
	batch := fs.Int("batch", 2000, "results per Store.Write while loading")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `file` (of the load with -build-only, else of the queries)")
	buildOnly := fs.Bool("build-only", false, "build the store and exit (run in a child, so RSS figures are the queries')")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := coverageParams{Regions: *regionsFile, Results: *n, Probes: *probes, Window: *window, Now: benchNow, Seed: 5}
	regions, err := region.LoadFile(p.Regions, region.LoadOptions{})
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *buildOnly {
		return buildCoverageStore(*data, p, regions, *writers, *batch)
	}
	if !built(*data, p) {
		// Build in a child process: its memory is not the queries'.
		self, err := os.Executable()
		if err != nil {
			return err
		}
		cmd := exec.Command(self, append(append([]string{"coverage", "-build-only"}, args...), "-cpuprofile", "")...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build store: %w", err)
		}
	}
	return measureCoverage(*data, p, regions, *runs)
}

// defaultGeo finds the shared boundary files as the tests do.
func defaultGeo(name string) string {
	if d := os.Getenv("JANGKAU_GEO_DIR"); d != "" {
		return filepath.Join(d, name)
	}
	return filepath.Join("..", "shared", "geo", name)
}

func built(dir string, p coverageParams) bool {
	b, err := os.ReadFile(filepath.Join(dir, "bench.json"))
	if err != nil {
		return false
	}
	var have coverageParams
	return json.Unmarshal(b, &have) == nil && have == p
}

// benchProbe is one probe of the bench with its place.
type benchProbe struct {
	id, carrier string
	cell        rollup.Cell // Service and Kind are set per check
	okShare     float64
	latency     float64 // ms, the median of its successful checks
}

// placeBenchProbes puts each probe at a random point inside a random desa,
// found with Locate as the collector places a probe with a location.
func placeBenchProbes(rs *region.Regions, n int, seed uint64) ([]benchProbe, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	desa := rs.Level(rs.Deepest())
	out := make([]benchProbe, 0, n)
	for i := range n {
		var loc orb.Point
		var reg *region.Region
		for try := 0; reg == nil; try++ {
			if try > 10000 {
				return nil, errors.New("could not place a probe inside a desa")
			}
			d := desa[rng.IntN(len(desa))]
			b := d.Bound
			loc = orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
			if r := rs.Locate(loc[1], loc[0]); r != nil && r.Code == d.Code {
				reg = r
			}
		}
		bp := benchProbe{id: fmt.Sprintf("p%04d", i), carrier: benchCarriers[rng.IntN(len(benchCarriers))]}
		bp.cell = rollup.Cell{Region: reg.Code, Tile: tile.Quadkey(tile.At(loc[1], loc[0], tile.DefaultZoom)), Carrier: bp.carrier, Probe: bp.id}
		switch x := rng.Float64(); {
		case x < 0.08: // a link that is mostly down: blank
			bp.okShare, bp.latency = 0.3, 400
		case x < 0.2: // slow: degraded
			bp.okShare, bp.latency = 0.9, 1500
		default:
			bp.okShare, bp.latency = 0.995, 30+rng.Float64()*150
		}
		out = append(out, bp)
	}
	return out, nil
}

// benchResult is the k-th result (seq k+1) of probe p: the checks take
// turns at a fixed interval, so results come in time order.
func benchResult(p *benchProbe, idx int, k int, perProbe int, from time.Time, window time.Duration) (wire.Result, rollup.Cell) {
	nc := len(benchChecks)
	c := benchChecks[k%nc]
	step := window / time.Duration(perProbe)
	// Each probe starts at its own offset within one step.
	at := from.Add(time.Duration(k)*step + time.Duration(idx)*step/time.Duration(2*nc+1))
	rng := rand.New(rand.NewPCG(uint64(idx), uint64(k)))
	ok := rng.Float64() < p.okShare
	// The dukcapil service is down for an hour, seen from everywhere.
	if c.service == "dukcapil" && at.After(from.Add(window-5*time.Hour)) && at.Before(from.Add(window-4*time.Hour)) {
		ok = false
	}
	r := wire.Result{Seq: uint64(k + 1), Time: at, Check: c.name, Kind: c.kind, Target: "10.20.0.1", Service: c.service, OK: ok,
		DurationMS: p.latency * math.Exp(0.5*rng.NormFloat64())}
	if !ok {
		r.DurationMS, r.ErrorClass = 5000, "timeout"
	}
	if c.kind == wire.KindICMP {
		loss := 0.0
		if !ok {
			loss = 1
		}
		r.Phases = map[string]float64{"loss": loss}
	}
	cell := p.cell
	cell.Kind, cell.Service = c.kind, c.service
	if cell.Service == "" {
		cell.Service = rollup.Uplink
	}
	return r, cell
}

// buildCoverageStore loads p.Results results through Store.Write: batches
// of one probe's results, in time order across probes as live ingest
// brings them, from several goroutines so that commits are shared.
func buildCoverageStore(dir string, p coverageParams, rs *region.Regions, writers, batch int) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	probes, err := placeBenchProbes(rs, p.Probes, p.Seed)
	if err != nil {
		return err
	}
	// A fixture that a rerun rebuilds: no fsync per commit (Close syncs).
	st, err := embedded.Open(dir, embedded.NoSync())
	if err != nil {
		return err
	}
	defer st.Close()
	perProbe := p.Results / p.Probes
	from := p.Now.Add(-p.Window)
	type job struct{ probe, first int }
	jobs := make(chan job, writers)
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for j := range jobs {
				if errs[w] != nil {
					continue
				}
				bp := &probes[j.probe]
				n := min(batch, perProbe-j.first)
				wr := store.Write{Probe: bp.id, FirstSeq: uint64(j.first + 1), Results: make([]wire.Result, n), Cells: make([]rollup.Cell, n)}
				for i := range n {
					wr.Results[i], wr.Cells[i] = benchResult(bp, j.probe, j.first+i, perProbe, from, p.Window)
				}
				wr.Received = wr.Results[n-1].Time
				if _, err := st.Write(context.Background(), wr); err != nil {
					errs[w] = err
					continue
				}
				if d := done.Add(int64(n)); d*10/int64(p.Results) != (d-int64(n))*10/int64(p.Results) {
					el := time.Since(start)
					fmt.Printf("loaded %d of %d results in %s (%.0f results/s)\n", d, p.Results, el.Round(time.Second), float64(d)/el.Seconds())
				}
			}
		})
	}
	for first := 0; first < perProbe; first += batch {
		for i := range probes {
			jobs <- job{i, first}
		}
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("loaded %d results through Store.Write in %s (%.0f results/s, batches of %d, %d writers)\n",
		int(done.Load()), el.Round(time.Second), float64(done.Load())/el.Seconds(), batch, writers)
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.json"), b, 0o644)
}

// coverageQuery is what the map asks: the desa level, and the tiles.
func coverageQuery(ctx context.Context, e *coverage.Engine, src coverage.Feed, probes []coverage.Probe, q coverage.Query) (int, int, error) {
	cells, err := e.Regions(ctx, src, probes, 4, q)
	if err != nil {
		return 0, 0, err
	}
	tiles, err := e.Tiles(ctx, src, tile.DefaultZoom, orb.Bound{}, q)
	if err != nil {
		return 0, 0, err
	}
	return len(cells), len(tiles), nil
}

func rollupSource(st *embedded.Store) coverage.Source {
	return func(ctx context.Context, res time.Duration, from, to time.Time, fn func(coverage.Row) error) error {
		return st.Rollups(ctx, res, from, to, func(b time.Time, c rollup.Cell, a *rollup.Agg) error {
			return fn(coverage.Row{Bucket: b, Res: res, Cell: c, Agg: a})
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func mib(b uint64) float64       { return float64(b) / (1 << 20) }

// peakRSS reads VmHWM, the process's peak resident set, on Linux.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
