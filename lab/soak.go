package lab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jangkau/jangkau/geo/region"
)

// SoakSpec is a load and soak run: many probes against one collector, all
// on the loopback of one namespace, with no impairments. It measures the
// collector: ingest latency, CPU and memory over time, and loss.
type SoakSpec struct {
	Probes   int           `yaml:"probes"`
	Duration time.Duration `yaml:"duration"`
	// WarmUp is left out of the growth comparison.
	WarmUp time.Duration `yaml:"warm_up"`
	// MaxGrowth bounds how much RSS and CPU may grow from the first
	// minute after warm-up to the last (0.10 = 10%).
	MaxGrowth float64 `yaml:"max_growth"`
}

func (s *SoakSpec) validate() error {
	switch {
	case s.Probes < 1 || s.Probes > 1000:
		return fmt.Errorf("soak.probes (%d) must be 1..1000", s.Probes)
	case s.Duration < time.Minute:
		return fmt.Errorf("soak.duration (%s) must be at least 1m", s.Duration)
	case s.WarmUp < 0 || s.WarmUp >= s.Duration-time.Minute:
		return fmt.Errorf("soak.warm_up (%s) must leave at least a minute of soak.duration (%s)", s.WarmUp, s.Duration)
	case s.MaxGrowth <= 0:
		return fmt.Errorf("soak.max_growth (%g) must be positive", s.MaxGrowth)
	}
	return nil
}

// usage is one sample of the collector's process.
type usage struct {
	at       time.Duration
	cpuSec   float64 // user+system seconds so far
	rssBytes float64
	stored   uint64
}

// procUsage reads a process's CPU seconds and RSS from /proc.
func procUsage(pid int) (cpu, rss float64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command (which may hold spaces) start after ")".
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	rssPages, _ := strconv.ParseFloat(f[21], 64)
	return (utime + stime) / 100, rssPages * float64(os.Getpagesize()), nil
}

func runSoak(ctx context.Context, sc *Scenario, opt Options) error {
	s := sc.Soak
	l, cleanup, err := setUp(ctx, sc, opt, 0)
	defer cleanup()
	if err != nil {
		return err
	}
	ns := l.net.core()
	regions, err := region.LoadFile(opt.Regions, region.LoadOptions{CodeProperty: "kode", NameProperty: "nama"})
	if err != nil {
		return err
	}
	deepest := regions.Level(regions.Deepest())
	tc := targetsConfig{Addr: "127.0.0.1", Zone: labZone, Control: filepath.Join(l.dir, "targets.sock")}
	for _, sv := range sc.Services {
		if sv.TLS {
			return errors.New("soak: services must be plain http")
		}
		tc.Services = append(tc.Services, targetService(sv))
	}
	if err := l.startRole(ctx, "targets", ns, "targets", tc, tc.Control); err != nil {
		return err
	}
	for i := range s.Probes {
		tok, sum := newToken()
		l.probes = append(l.probes, &labProbe{ID: fmt.Sprintf("soak%03d", i), Region: deepest[i%len(deepest)].Code,
			NS: ns, Token: tok, TokenSHA: sum, Dir: filepath.Join(l.dir, "probes", fmt.Sprintf("soak%03d", i))})
	}
	l.targetHost, l.collectorHost = "127.0.0.1", "127.0.0.1"
	if err := l.startCollector(ctx, l.probes); err != nil {
		return err
	}
	for _, p := range l.probes {
		cfg, err := writeProbeConfig(p, sc, "", l.targetHost, l.collectorAddr(), "")
		if err != nil {
			return err
		}
		if _, err := l.ps.start(p.ID, ns, opt.Bin, nil, "probe", "--config", cfg, "--log-level", "warn"); err != nil {
			return err
		}
	}
	l.t0 = time.Now()
	perMin := 0.0
	for _, c := range sc.Probe.Checks {
		perMin += float64(time.Minute) / float64(c.Interval)
	}
	l.note("soak: %d probes, %.0f checks a minute each, for %s, against one collector (pid %d)", s.Probes, perMin, s.Duration, l.collector.pid())

	var samples []usage
	var hist0 histogram
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for l.since() < s.Duration {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		cpu, rss, err := procUsage(l.collector.pid())
		if err != nil {
			return fmt.Errorf("collector: %w", err)
		}
		u := usage{at: l.since(), cpuSec: cpu, rssBytes: rss}
		if ps, err := l.api.probes(ctx); err == nil {
			for _, p := range ps {
				u.stored += p.ResultsStored
			}
		}
		samples = append(samples, u)
		if hist0 == nil && u.at >= s.WarmUp {
			hist0, _ = l.ingestHistogram(ctx)
		}
		l.printf("t=%-7s stored %d results; collector CPU %.1fs, RSS %.1f MiB", fmtDur(u.at), u.stored, cpu, rss/(1<<20))
	}
	hist1, err := l.ingestHistogram(ctx)
	if err != nil {
		return err
	}
	// Stop the probes (each uploads what is left on SIGTERM), then count.
	var wg sync.WaitGroup
	l.ps.mu.Lock()
	list := append([]*proc(nil), l.ps.list...)
	l.ps.mu.Unlock()
	for _, p := range list {
		if strings.HasPrefix(p.name, "soak") {
			wg.Add(1)
			go func() { defer wg.Done(); p.stop(15 * time.Second) }()
		}
	}
	wg.Wait()
	return l.soakReport(ctx, s, samples, hist0, hist1, perMin)
}

// histogram is a cumulative Prometheus histogram: upper bound → count.
type histogram map[float64]float64

var bucketRE = regexp.MustCompile(`le="([^"]+)"`)

// ingestHistogram reads jangkau_ingest_request_duration_seconds.
func (l *lab) ingestHistogram(ctx context.Context) (histogram, error) {
	body, err := l.api.get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	h := histogram{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "jangkau_ingest_request_duration_seconds_bucket") {
			continue
		}
		m := bucketRE.FindStringSubmatch(line)
		i := strings.LastIndexByte(line, ' ')
		if m == nil || i < 0 {
			continue
		}
		le, err1 := strconv.ParseFloat(m[1], 64)
		v, err2 := strconv.ParseFloat(line[i+1:], 64)
		if err1 == nil && err2 == nil {
			h[le] += v
		}
	}
	if len(h) == 0 {
		return nil, errors.New("no jangkau_ingest_request_duration_seconds on /metrics")
	}
	return h, nil
}

// quantile of the requests between two snapshots, interpolated linearly
// inside a bucket as Prometheus's histogram_quantile does.
func quantile(q float64, h0, h1 histogram) (float64, float64) {
	var les []float64
	for le := range h1 {
		les = append(les, le)
	}
	sort.Float64s(les)
	total := h1[math.Inf(1)] - h0[math.Inf(1)]
	if total <= 0 {
		return math.NaN(), 0
	}
	rank, prevLE, prevN := q*total, 0.0, 0.0
	for _, le := range les {
		n := h1[le] - h0[le]
		if n >= rank {
			if math.IsInf(le, 1) {
				return prevLE, total
			}
			return prevLE + (le-prevLE)*(rank-prevN)/math.Max(n-prevN, 1e-9), total
		}
		prevLE, prevN = le, n
	}
	return math.NaN(), total
}

// soakReport checks loss and growth and writes soak.md.
func (l *lab) soakReport(ctx context.Context, s *SoakSpec, samples []usage, h0, h1 histogram, perMin float64) error {
	var b strings.Builder
	ok := true
	fail := func(format string, args ...any) {
		ok = false
		fmt.Fprintf(&b, "- ✘ "+format+"\n", args...)
	}
	fmt.Fprintf(&b, "# jangkau lab soak: %s\n\n%d probes, %.0f checks a minute each, %s, one collector, embedded store.\n\n",
		l.sc.Name, s.Probes, perMin, s.Duration)
	p50, n := quantile(0.5, h0, h1)
	p99, _ := quantile(0.99, h0, h1)
	fmt.Fprintf(&b, "## Ingest latency after warm-up\n\n%.0f ingest requests; p50 %.1f ms, p99 %.1f ms (from the collector's histogram, interpolated within buckets).\n\n", n, p50*1000, p99*1000)

	b.WriteString("## Collector over time\n\n| t | results stored | CPU (cores, last interval) | RSS MiB |\n|---|---|---|---|\n")
	for i, u := range samples {
		cores := 0.0
		if i > 0 {
			cores = (u.cpuSec - samples[i-1].cpuSec) / (u.at - samples[i-1].at).Seconds()
		}
		if i%3 == 0 || i == len(samples)-1 {
			fmt.Fprintf(&b, "| %s | %d | %.3f | %.1f |\n", fmtDur(u.at), u.stored, cores, u.rssBytes/(1<<20))
		}
	}
	// Growth: the first minute after warm-up against the last minute.
	avg := func(from, to time.Duration) (rss, cores float64) {
		var first, last *usage
		n := 0.0
		for i := range samples {
			u := &samples[i]
			if u.at < from || u.at > to {
				continue
			}
			rss += u.rssBytes
			n++
			if first == nil {
				first = u
			}
			last = u
		}
		if n == 0 || first == last {
			return math.NaN(), math.NaN()
		}
		return rss / n, (last.cpuSec - first.cpuSec) / (last.at - first.at).Seconds()
	}
	end := samples[len(samples)-1].at
	rssA, cpuA := avg(s.WarmUp, s.WarmUp+time.Minute)
	rssB, cpuB := avg(end-time.Minute, end)
	b.WriteString("\n## Checks\n\n")
	line := fmt.Sprintf("RSS %.1f → %.1f MiB (%+.1f%%); CPU %.3f → %.3f cores (%+.1f%%), first minute after warm-up vs last minute",
		rssA/(1<<20), rssB/(1<<20), 100*(rssB/rssA-1), cpuA, cpuB, 100*(cpuB/cpuA-1))
	if math.IsNaN(rssA) || rssB > rssA*(1+s.MaxGrowth) || cpuB > cpuA*(1+s.MaxGrowth) {
		fail("%s; allowed %.0f%%", line, 100*s.MaxGrowth)
	} else {
		fmt.Fprintf(&b, "- ✔ %s\n", line)
	}
	ps, err := l.api.probes(ctx)
	if err != nil {
		return err
	}
	finalSeq := probeFinalSeqs(l.ps.logs)
	var stored, lost, behind uint64
	bad := 0
	for _, p := range l.probes {
		st := ps[p.ID]
		stored += st.ResultsStored
		lost += st.Lost
		if fs, ok := finalSeq[p.ID]; ok && fs > st.LastSeq {
			behind += fs - st.LastSeq
		}
		if st.LastSeq == 0 || st.ResultsStored != st.LastSeq || st.Lost != 0 {
			bad++
		}
	}
	line = fmt.Sprintf("%d results stored from %d probes (%.0f expected at the check rate); lost %d; probes with a gap %d; results still in spools at exit %d",
		stored, len(l.probes), perMin*float64(s.Probes)*s.Duration.Minutes(), lost, bad, behind)
	if lost != 0 || bad != 0 {
		fail("%s", line)
	} else {
		fmt.Fprintf(&b, "- ✔ %s\n", line)
	}
	os.MkdirAll(l.opt.Report, 0o755)
	if err := os.WriteFile(filepath.Join(l.opt.Report, "soak.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	l.printf("\n%s", b.String())
	if !ok {
		return fmt.Errorf("%w: soak (see %s)", ErrAssertions, filepath.Join(l.opt.Report, "soak.md"))
	}
	return nil
}

var stoppedRE = regexp.MustCompile(`msg="probe stopped" last_seq=(\d+)`)

// probeFinalSeqs reads each probe's last seq from its log at exit.
func probeFinalSeqs(logs string) map[string]uint64 {
	out := map[string]uint64{}
	entries, _ := os.ReadDir(logs)
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(logs, e.Name()))
		if err != nil {
			continue
		}
		if m := stoppedRE.FindSubmatch(data); m != nil {
			n, _ := strconv.ParseUint(string(m[1]), 10, 64)
			out[id] = n
		}
	}
	return out
}
