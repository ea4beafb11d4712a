package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jangkau/jangkau/geo/region"
)

// viewsParams describe a loaded data set; a -data dir whose views.json
// matches them (and is younger than -reuse) is measured again without
// loading.
type viewsParams struct {
	Regions     string        `json:"regions"`
	RegionsSize int64         `json:"regions_size"`
	Results     int           `json:"results"`
	Probes      int           `json:"probes"`
	Window      time.Duration `json:"window"`
	Seed        uint64        `json:"seed"`
	Rev         string        `json:"rev"`       // the jangkau build that wrote the stores
	CollectorID bool          `json:"collector"` // written with distinct collector ids
	Anchor      time.Time     `json:"anchor"`    // the data's window ends here
}

const (
	viewsCoverage = "/api/v1/coverage?level=4&window=24h"
	viewsServices = "/api/v1/services?window=24h"
)

// viewsOpts are the flags of `jangkau-bench views`.
type viewsOpts struct {
	regions, data, bin, influxd, pgBin, idKey string
	results, probes, repeats, colds, rate     int
	port, batch, senders                      int
	window, reuse, budget, progress           time.Duration
	seed                                      uint64
	anyBuild, rollupRebuild                   bool
	reload                                    string
}

// runViews is `jangkau-bench views`: issue 17's table. One data set goes
// through the real ingest API of the jangkau binary into an embedded
// collector and into two collectors on one InfluxDB (each probe to one of
// them), and is COPYed into PostGIS; then the desa coverage view and the
// services view are timed on fresh collector processes (cold) and
// repeated, and the peer's best form of the same aggregate is timed the
// same way.
func runViews(args []string) error {
	fs := flag.NewFlagSet("views", flag.ContinueOnError)
	var o viewsOpts
	fs.StringVar(&o.regions, "regions", defaultGeo("banten-adm4.geojson"), "desa boundaries `file` (GeoJSON): Banten's banten-adm4.geojson of ../shared/geo")
	fs.StringVar(&o.data, "data", filepath.Join(os.TempDir(), "jangkau-bench-views"), "`dir` for the stores, kept for reruns")
	fs.StringVar(&o.bin, "bin", "", "jangkau `binary` (default: go build ./cmd/jangkau of this module)")
	fs.StringVar(&o.influxd, "influxd", "", "influxd 1.8.10 `binary` (default: scripts/influxdb.sh's .cache/bin/influxd, built when missing)")
	fs.StringVar(&o.pgBin, "pg-bin", "/usr/lib/postgresql/15/bin", "PostgreSQL 15 binaries `dir` (apt-get install postgresql-15-postgis-3)")
	fs.StringVar(&o.idKey, "collector-id-key", "storage.influxdb.collector_id", "config `key` that gives each InfluxDB collector its own id (skipped when this build has none)")
	fs.IntVar(&o.results, "results", 10_000_000, "results in the window")
	fs.IntVar(&o.probes, "probes", 200, "probes, each on a random desa")
	fs.IntVar(&o.repeats, "repeats", 15, "repeated requests per view; the figure is their median")
	fs.IntVar(&o.colds, "colds", 3, "fresh collector starts per view and store; the figure is their median")
	fs.IntVar(&o.rate, "rate", 2000, "results/s sent while the embedded repeats run")
	fs.IntVar(&o.port, "influx-port", 38096, "InfluxDB HTTP `port` (the RPC port is port+2)")
	fs.IntVar(&o.batch, "batch", 5000, "results per ingest batch while loading (the collector's limits.max_results is 10,000)")
	fs.IntVar(&o.senders, "senders", 4, "requests in flight per store while loading, each lane for its share of the probes (even: the InfluxDB collectors are fed alike)")
	fs.DurationVar(&o.progress, "progress", 30*time.Second, "print the load's progress this often")
	fs.DurationVar(&o.window, "window", 24*time.Hour, "the data's span (the views ask for 24h)")
	fs.DurationVar(&o.reuse, "reuse", time.Hour, "reuse the stores in -data when loaded less than this long ago (0: always load)")
	fs.DurationVar(&o.budget, "budget", 3*time.Minute, "end a series of colds or repeats early once it has taken this long (after 1 cold, 3 repeats)")
	fs.Uint64Var(&o.seed, "seed", 17, "seed of the data set")
	fs.BoolVar(&o.anyBuild, "any-build", false, "with -reuse: measure stores written by another jangkau build too (a newer binary reading them; see docs/benchmarks.md)")
	fs.StringVar(&o.reload, "reload", "", "with reused stores: load these again through the ingest API (\"influxdb\", \"embedded\" or both, comma-separated), keeping the others")
	fs.BoolVar(&o.rollupRebuild, "rollup-rebuild", false, "with reused stores: run `jangkau store rollup-rebuild` on the InfluxDB data first (rollup levels the writing build did not have)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The collectors read both from their config in -data: a relative
	// path would be taken from there.
	for _, p := range []*string{&o.regions, &o.data} {
		if abs, err := filepath.Abs(*p); err == nil {
			*p = abs
		}
	}
	st, err := os.Stat(o.regions)
	if err != nil {
		return fmt.Errorf("-regions %s: %w: pass -regions PATH/banten-adm4.geojson (the real Banten desa boundaries; ../shared/geo/ from the module root) or set JANGKAU_GEO_DIR", o.regions, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &viewsBench{o: o}
	b.params = viewsParams{Regions: o.regions, RegionsSize: st.Size(), Results: o.results, Probes: o.probes, Window: o.window, Seed: o.seed}
	return b.run(ctx)
}

type viewsBench struct {
	o      viewsOpts
	params viewsParams
	root   string
	bin    string
	rs     *region.Regions
	d      *viewsData
	ix     *viewsInflux
	pg     *viewsPG
	idKey  bool // the collector-id key is in this build's schema
	// loading: the collectors started now take the load (InfluxDB
	// writes get storage.influxdb.timeout 2m)
	loading bool
	reused  bool // measuring stores loaded by an earlier run
}

func (b *viewsBench) run(ctx context.Context) (err error) {
	o := b.o
	if b.root, err = moduleRoot(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.data, 0o755); err != nil {
		return err
	}
	b.params.Rev = gitRev(b.root)
	if o.bin != "" {
		b.params.Rev = "bin:" + o.bin
	}
	measuredRev := b.params.Rev
	if b.idKey, err = keySupported(o.idKey); err != nil {
		return err
	}
	b.params.CollectorID = b.idKey
	b.bin = o.bin
	if b.bin == "" {
		if b.bin, err = buildJangkau(ctx, o.data); err != nil {
			return err
		}
	}
	if b.rs, err = region.LoadFile(o.regions, region.LoadOptions{}); err != nil {
		return err
	}
	reuse := b.reusable()
	b.reused = reuse
	reload, err := parseReload(o.reload)
	if err != nil {
		return err
	}
	if reuse && (reload.embedded || reload.influx) {
		// Loaded again below, with the same anchor and results.
		var subs []string
		if reload.embedded {
			subs = append(subs, "embedded")
		}
		if reload.influx {
			subs = append(subs, "influx-a", "influx-b", "influxdb")
		}
		for _, sub := range append(subs, "views.json") {
			if err := os.RemoveAll(filepath.Join(o.data, sub)); err != nil {
				return err
			}
		}
	}
	if !reuse {
		for _, sub := range []string{"embedded", "influx-a", "influx-b", "influxdb", "pg", "views.json"} {
			if err := os.RemoveAll(filepath.Join(o.data, sub)); err != nil {
				return err
			}
		}
		b.params.Anchor = time.Now().UTC().Truncate(time.Second)
	}
	if b.d, err = newViewsData(b.rs, o.probes, o.results, o.seed, b.params.Anchor, o.window); err != nil {
		return err
	}
	influxd := o.influxd
	if influxd == "" {
		influxd = filepath.Join(b.root, ".cache", "bin", "influxd")
	}
	if b.ix, err = startViewsInflux(ctx, b.root, filepath.Join(o.data, "influxdb"), influxd, o.port); err != nil {
		return err
	}
	defer b.ix.stop()
	if b.pg, err = newViewsPG(o.pgBin, filepath.Join(o.data, "pg")); err != nil {
		return err
	}
	if !reuse {
		if err := b.pg.initdb(ctx); err != nil {
			return err
		}
	}
	if err := b.pg.start(ctx); err != nil {
		return err
	}
	defer func() { b.pg.stop() }()

	fmt.Printf("jangkau-bench views: %d results from %d probes on random desa of %s over %s; %d CPUs, %s\n",
		b.d.perProbe*o.probes, o.probes, filepath.Base(o.regions), o.window, runtime.NumCPU(), runtime.Version())
	fmt.Printf("jangkau %s; %s\n", measuredRev, influxdVersion(ctx, influxd))
	if b.idKey {
		fmt.Printf("InfluxDB collectors: ids bench-a and bench-b (%s)\n", o.idKey)
	} else {
		fmt.Printf("InfluxDB collectors: %s is not in this build's config: both run with the default id\n", o.idKey)
	}
	if reuse {
		fmt.Printf("reusing the stores in %s, loaded %s ago by jangkau %s (rerun with -reuse 0 to load again): %s\n",
			o.data, time.Since(b.params.Anchor).Round(time.Second), b.params.Rev, storeSizes(o.data))
		if reload.embedded || reload.influx {
			fmt.Printf("loading again with jangkau %s: %s\n", measuredRev, o.reload)
			if err := b.load(ctx, reload); err != nil {
				return err
			}
		}
		if o.rollupRebuild && !reload.influx {
			if err := b.rebuildRollups(ctx); err != nil {
				return err
			}
		}
	} else {
		if err := b.load(ctx, loadWhich{embedded: true, influx: true, pg: true}); err != nil {
			return err
		}
	}
	fmt.Printf("%s\n", strings.ReplaceAll(b.pg.versions(ctx), "\n", "; "))
	fmt.Printf("PostgreSQL settings (its defaults): %s\n", b.pg.settings(ctx))
	return b.measure(ctx)
}

func (b *viewsBench) reusable() bool {
	if b.o.reuse <= 0 {
		return false
	}
	raw, err := os.ReadFile(filepath.Join(b.o.data, "views.json"))
	if err != nil {
		return false
	}
	var have viewsParams
	if json.Unmarshal(raw, &have) != nil {
		return false
	}
	want := b.params
	want.Anchor = have.Anchor
	if b.o.anyBuild {
		want.Rev = have.Rev
	}
	if have != want || time.Since(have.Anchor) > b.o.reuse {
		return false
	}
	b.params = have
	return true
}

// storage is the storage block of an InfluxDB collector with id.
func (b *viewsBench) storage(id string) map[string]any {
	s := map[string]any{"kind": "influxdb", "influxdb": map[string]any{"url": b.ix.url, "token": b.ix.token, "bucket": b.ix.bucket}}
	if b.loading {
		// The load's writes queue behind each other on a busy machine:
		// room for that instead of a 503 after the default 10 s.
		s["influxdb"].(map[string]any)["timeout"] = "2m"
	}
	if b.idKey {
		cfg := map[string]any{"storage": s}
		setKey(cfg, b.o.idKey, id)
	}
	return s
}

// collector starts a collector: "embedded", "influx-a" or "influx-b",
// each on its own data_dir in -data.
func (b *viewsBench) collector(ctx context.Context, name string) (*viewsCollector, error) {
	var storage map[string]any
	if id, ok := strings.CutPrefix(name, "influx-"); ok {
		storage = b.storage("bench-" + id)
	}
	dataDir := filepath.Join(b.o.data, name)
	return startViewsCollector(ctx, b.bin, b.o.data, name, func(listen string) ([]byte, error) {
		return collectorConfig(b.d, b.o.regions, dataDir, listen, storage)
	})
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("run jangkau-bench views from the jangkau module (go env GOMOD: %v)", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// gitRev names the code the stores were written by: the last commit that
// touched anything but this bench and docs/, "+dirty" with uncommitted
// changes there. A change of the harness alone keeps the stores.
func gitRev(root string) string {
	paths := []string{"--", ".", ":(exclude)cmd/jangkau-bench", ":(exclude)docs"}
	out, err := exec.Command("git", append([]string{"-C", root, "log", "-1", "--format=%h"}, paths...)...).Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", append([]string{"-C", root, "status", "--porcelain"}, paths...)...).Output(); err != nil || len(st) > 0 {
		rev += "+dirty"
	}
	return rev
}
