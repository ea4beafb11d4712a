// Command jangkau-probebench compares jangkau's probe with
// blackbox_exporter on this machine, in one run (issues 3 and 14):
//
//	apt-get install -y prometheus-blackbox-exporter   # once, as root
//	go run ./cmd/jangkau-probebench                    # the full sweep, about 17 min
//
// Targets, all on loopback: 500 HTTP URLs served by one Go process (this
// binary re-executed) whose handler sleeps 20 ms and records its true
// time per request, and 100 ICMP addresses 127.0.0.2–127.0.0.101. Each
// tool checks every target once per interval (timeout 2 s, one ICMP packet
// per check), for each interval of -intervals (2 s, 5 s, 10 s and 60 s by
// default), in phases run one after the other so that the 2 cores serve
// one tool at a time: http (500 HTTP targets only), icmp (100 ICMP targets
// only) and, with -phases http,icmp,mixed, both at once. Each phase is
// measured over -duration or half its interval, whichever is longer. Runs,
// intervals, phases and tools are interleaved (run 1 of every setting, then
// run 2, …) so that a neighbour's load on a shared machine falls on all
// settings alike.
//
// Both tools run under the same Go memory settings: -env lists the
// variables (GOMEMLIMIT, GOGC) given to both; by default neither tool gets
// any (they are removed from the environment), so each runs with the Go
// runtime's defaults. The header records them, the Go version and VCS
// revision each binary was built with (as `go version -m` shows them), and
// blackbox_exporter's own version.
//
// jangkau is the real binary running `jangkau probe`, by default the
// probe-only build a district server installs (go build -tags probeonly;
// -jangkau-probe PATH for another), uploading through an ingest
// proxy in this process (it reads the accepted batches for the latency
// figures) to a real `jangkau collector` process whose CPU is reported
// apart. Checks are counted from the probe's jangkau_probe_checks_total.
// blackbox_exporter is pull-based: a scraper in this process asks for
// each target once per interval, spread evenly; checks are scrapes
// answered with probe_success.
//
// Per tool, interval and phase it reports the tool process's own CPU
// (utime+stime from /proc/PID/stat over the window) per 1000 checks, its
// peak RSS (VmHWM), the checks completed, and the mean error (reported −
// true handler time) of the HTTP processing phase and of the total;
// medians of -runs runs with their range, and the jangkau/blackbox ratios
// (ratio of the medians, and the range of the ratios of runs taken side by
// side). -perf DIR records the jangkau probe with perf(1) (the figures of
// such a run are not clean).
//
// Traffic stays on 127.0.0.0/8; nothing is resolved. Not a CI test.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var nanV = math.NaN()

type options struct {
	duration, timeout       time.Duration
	intervals               []time.Duration
	nHTTP, nICMP, runs      int
	phases, tools           []string
	env                     []string // Go memory settings given to both tools
	jangkau, blackbox, perf string
	jangkauProbe            string // runs `jangkau probe`; jangkau runs the collector
	keep                    bool
}

// phase is a set of targets both tools check every interval.
type phase struct {
	name       string
	interval   time.Duration
	http, icmp int
}

// checkTimeout is every check's timeout in a phase: -timeout, or half the
// interval when that is shorter (jangkau wants it below the interval).
func (o options) checkTimeout(ph phase) time.Duration {
	return min(o.timeout, ph.interval/2)
}

// window is how long a phase is measured: -duration, or half the
// interval when that is longer (a 60 s interval still sees 30 s of checks).
func (o options) window(ph phase) time.Duration {
	return max(o.duration, ph.interval/2)
}

// phaseResult is what one tool did in one phase of one run.
type phaseResult struct {
	tool, phase       string
	interval          time.Duration
	checks, ok        int
	cpu, rssMB        float64 // the tool's process
	otherCPU          float64 // jangkau: the collector process
	benchCPU          float64 // this process (scraper or ingest proxy)
	procErr, totErr   float64 // mean ms, HTTP successes matched to hits
	truth, rttMS      float64 // mean true handler time; mean ICMP RTT
	matched, stored   int
	window            time.Duration
	perCheck, perColl float64 // CPU-s per 1000 checks
}

func main() {
	if os.Getenv(roleEnv) == "targets" {
		if err := serveTargets(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var o options
	var phases, tools, intervals, env string
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "measured window of each phase (at least half its interval)")
	flag.StringVar(&intervals, "intervals", "2s,5s,10s,60s", "check intervals to sweep")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Second, "check timeout (at most half the interval)")
	flag.IntVar(&o.nHTTP, "http", 500, "HTTP targets")
	flag.IntVar(&o.nICMP, "icmp", 100, "ICMP targets (127.0.0.2 upwards, at most 250)")
	flag.IntVar(&o.runs, "runs", 3, "runs; the table shows medians and ranges")
	flag.StringVar(&env, "env", "", "Go memory settings for both tools, e.g. GOMEMLIMIT=16MiB,GOGC=100 (default: none, the runtime's defaults)")
	flag.StringVar(&phases, "phases", "http,icmp", "phases to run: http, icmp, mixed")
	flag.StringVar(&tools, "tools", "jangkau,blackbox", "tools to measure")
	flag.StringVar(&o.jangkau, "jangkau", "", "jangkau binary for the collector (default: go build ./cmd/jangkau into the work dir)")
	flag.StringVar(&o.jangkauProbe, "jangkau-probe", "", "jangkau binary for the probe (default: the probe-only build, go build -tags probeonly ./cmd/jangkau; give the -jangkau binary to measure the full one)")
	flag.StringVar(&o.blackbox, "blackbox", "/usr/bin/prometheus-blackbox-exporter", "blackbox_exporter binary")
	flag.StringVar(&o.perf, "perf", "", "record the jangkau probe with perf into `dir`")
	flag.BoolVar(&o.keep, "keep", false, "keep the work dir (configs and logs)")
	flag.Parse()
	o.phases, o.tools = strings.Split(phases, ","), strings.Split(tools, ",")
	var err error
	if o.intervals, err = parseIntervals(intervals); err != nil {
		fmt.Fprintln(os.Stderr, "jangkau-probebench:", err)
		os.Exit(2)
	}
	if o.env, err = parseEnv(env); err != nil {
		fmt.Fprintln(os.Stderr, "jangkau-probebench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "jangkau-probebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.nICMP > 250 {
		return fmt.Errorf("-icmp %d: at most 250 addresses in 127.0.0.0/24", o.nICMP)
	}
	for _, name := range o.phases {
		if name != "http" && name != "icmp" && name != "mixed" {
			return fmt.Errorf("-phases: unknown phase %q; use http, icmp or mixed", name)
		}
	}
	dir, err := os.MkdirTemp("", "jangkau-probebench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("work dir:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if o.jangkau == "" {
		o.jangkau = filepath.Join(dir, "jangkau")
		if out, err := exec.Command("go", "build", "-o", o.jangkau, "./cmd/jangkau").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/jangkau (run from the module root): %v\n%s", err, out)
		}
	}
	if o.jangkauProbe == "" {
		// What a district server runs: the probe-only build.
		o.jangkauProbe = filepath.Join(dir, "jangkau-probeonly")
		if out, err := exec.Command("go", "build", "-tags", "probeonly", "-o", o.jangkauProbe, "./cmd/jangkau").CombinedOutput(); err != nil {
			return fmt.Errorf("go build -tags probeonly ./cmd/jangkau (run from the module root): %v\n%s", err, out)
		}
	}
	printHeader(o)
	ts, err := startTargets(ctx, dir)
	if err != nil {
		return err
	}
	defer ts.p.stop(5 * time.Second)
	all := map[string][]phaseResult{}
	var order []string
	for run := 1; run <= o.runs; run++ {
		for _, ph := range phasesOf(o) {
			for _, tool := range o.tools {
				var r phaseResult
				rdir := filepath.Join(dir, fmt.Sprintf("run%d-%s", run, ph.interval))
				switch tool {
				case "jangkau":
					r, err = runJangkau(ctx, ph, ts, o, rdir)
				case "blackbox":
					r, err = runBlackbox(ctx, ph, ts, o, rdir)
				default:
					return fmt.Errorf("unknown tool %q", tool)
				}
				if err != nil {
					return fmt.Errorf("run %d, %s %s every %s: %w", run, tool, ph.name, ph.interval, err)
				}
				r.interval = ph.interval
				r.finish()
				key := resultKey(tool, ph.interval, ph.name)
				if all[key] == nil {
					order = append(order, key)
				}
				all[key] = append(all[key], r)
				fmt.Printf("run %d %-8s %4s %-5s %s\n", run, tool, ph.interval, ph.name, r.line())
				if ctx.Err() != nil {
					return ctx.Err()
				}
				time.Sleep(time.Second)
			}
		}
	}
	printTable(order, all)
	return nil
}

// window measures processes between two moments.
type window struct {
	pid, other         int
	t0                 time.Time
	cpu0, oth0, bench0 float64
}

func startWindow(pid, other int) (*window, error) {
	w := &window{pid: pid, other: other, t0: time.Now(), bench0: selfCPU()}
	var err error
	if w.cpu0, err = cpuSeconds(pid); err != nil {
		return nil, err
	}
	if other != 0 {
		w.oth0, err = cpuSeconds(other)
	}
	return w, err
}

func (w *window) end(r *phaseResult) error {
	c, err := cpuSeconds(w.pid)
	if err != nil {
		return err
	}
	r.cpu, r.window, r.benchCPU = c-w.cpu0, time.Since(w.t0), selfCPU()-w.bench0
	if w.other != 0 {
		o, err := cpuSeconds(w.other)
		if err != nil {
			return err
		}
		r.otherCPU = o - w.oth0
	}
	r.rssMB, err = peakRSSMB(w.pid)
	return err
}

// startPerf records pid with perf(1) when -perf is set.
func startPerf(o options, dir string, pid int) func() {
	if o.perf == "" {
		return func() {}
	}
	os.MkdirAll(o.perf, 0o755)
	out := filepath.Join(o.perf, filepath.Base(filepath.Dir(dir))+"-"+filepath.Base(dir)+".perf.data")
	p, err := startProc("perf", filepath.Join(dir, "perf.log"), nil, "record", "-F", "499", "-g", "-p", fmt.Sprint(pid), "-o", out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		return func() {}
	}
	return func() { p.cmd.Process.Signal(os.Interrupt); <-p.done }
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return nanV
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func mkWrite(dir, name, text string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeFiles(dir, map[string]string{name: text})
}
