package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"text/tabwriter"
)

// finish derives the per-check figures.
func (r *phaseResult) finish() {
	r.perCheck, r.perColl = nanV, nanV
	if r.checks > 0 {
		r.perCheck = r.cpu / float64(r.checks) * 1000
		r.perColl = r.otherCPU / float64(r.checks) * 1000
	}
}

func (r *phaseResult) line() string {
	s := fmt.Sprintf("checks %d (ok %d) cpu %.2fs = %.3f CPU-s/1000, peak RSS %.1f MB, bench %.2fs",
		r.checks, r.ok, r.cpu, r.perCheck, r.rssMB, r.benchCPU)
	if r.tool == "jangkau" {
		s += fmt.Sprintf(", collector %.2fs, results seen %d", r.otherCPU, r.stored)
	}
	if r.matched > 0 {
		s += fmt.Sprintf(", latency err processing %+.3f ms total %+.3f ms (true %.3f ms, %d matched)",
			r.procErr, r.totErr, r.truth, r.matched)
	}
	if !math.IsNaN(r.rttMS) {
		s += fmt.Sprintf(", icmp rtt %.3f ms", r.rttMS)
	}
	return s
}

// med is the median of one figure over a tool/phase's runs.
func med(rs []phaseResult, f func(phaseResult) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return median(xs)
}

func ms(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%+.3f", v)
}

// spread is "median (min–max)" of one figure over runs.
func spread(rs []phaseResult, f func(phaseResult) float64, format string) string {
	xs := make([]float64, 0, len(rs))
	for _, r := range rs {
		if v := f(r); !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", median(xs), slices.Min(xs), slices.Max(xs))
}

// printTable prints the medians with their ranges, then jangkau/blackbox
// per interval and phase, against issue 3's targets.
func printTable(order []string, all map[string][]phaseResult) {
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tinterval\tphase\tchecks\tok\tCPU-s/1000 (range)\tpeak RSS MB (range)\terr processing ms\terr total ms\ttrue ms\tICMP RTT ms\tcollector CPU-s/1000\tbench CPU-s\t")
	for _, key := range order {
		rs := all[key]
		r0 := rs[0]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t\n", r0.tool, r0.interval, r0.phase,
			med(rs, func(r phaseResult) float64 { return float64(r.checks) }),
			med(rs, func(r phaseResult) float64 { return float64(r.ok) }),
			spread(rs, func(r phaseResult) float64 { return r.perCheck }, "%.3f"),
			spread(rs, func(r phaseResult) float64 { return r.rssMB }, "%.1f"),
			ms(med(rs, func(r phaseResult) float64 { return r.procErr })),
			ms(med(rs, func(r phaseResult) float64 { return r.totErr })),
			ms(med(rs, func(r phaseResult) float64 { return r.truth })),
			ms(med(rs, func(r phaseResult) float64 { return r.rttMS })),
			collCol(r0.tool, med(rs, func(r phaseResult) float64 { return r.perColl })),
			med(rs, func(r phaseResult) float64 { return r.benchCPU }))
	}
	tw.Flush()
	fmt.Println()
	fmt.Println("jangkau/blackbox: ratio of the medians (range of the ratios of runs taken side by side)")
	limits := map[string]float64{"http": 0.35, "icmp": 0.2}
	seen := map[string]bool{}
	for _, key := range order {
		r0 := all[key][0]
		k := fmt.Sprintf("%s/%s", r0.interval, r0.phase)
		j, b := all[resultKey("jangkau", r0.interval, r0.phase)], all[resultKey("blackbox", r0.interval, r0.phase)]
		if seen[k] || j == nil || b == nil {
			continue
		}
		seen[k] = true
		cpu, cpuRange := ratio(j, b, func(r phaseResult) float64 { return r.perCheck })
		rss, rssRange := ratio(j, b, func(r phaseResult) float64 { return r.rssMB })
		verdict := ""
		if lim, ok := limits[r0.phase]; ok {
			verdict = fmt.Sprintf(" (target ≤ %.2f: %s)", lim, pass(cpu <= lim))
		}
		fmt.Printf("  every %-4s %-5s CPU per check %.3f (%s)%s, peak RSS %.2f (%s)\n",
			r0.interval, r0.phase, cpu, cpuRange, verdict, rss, rssRange)
	}
	for _, key := range order {
		r0 := all[key][0]
		if r0.tool != "jangkau" || r0.phase != "http" {
			continue
		}
		j := all[key]
		rss := med(j, func(r phaseResult) float64 { return r.rssMB })
		pe := med(j, func(r phaseResult) float64 { return r.procErr })
		fmt.Printf("jangkau http every %s: peak RSS %.1f MB (target ≤ 25: %s), processing error %+.3f ms (target |err| ≤ 0.5: %s)\n",
			r0.interval, rss, pass(rss <= 25), pe, pass(math.Abs(pe) <= 0.5))
	}
}

// ratio is median(f(j))/median(f(b)) and the range of f(j[i])/f(b[i]),
// run i of both tools having been measured one after the other.
func ratio(j, b []phaseResult, f func(phaseResult) float64) (float64, string) {
	r := med(j, f) / med(b, f)
	var xs []float64
	for i := range min(len(j), len(b)) {
		if x := f(j[i]) / f(b[i]); !math.IsNaN(x) && !math.IsInf(x, 0) {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return r, "-"
	}
	return r, fmt.Sprintf("%.3f–%.3f", slices.Min(xs), slices.Max(xs))
}

func collCol(tool string, v float64) string {
	if tool != "jangkau" || math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

func pass(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
