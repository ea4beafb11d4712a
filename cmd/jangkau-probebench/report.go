package main

import (
	"fmt"
	"math"
	"os"
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

// printTable prints the medians, then jangkau/blackbox per phase against
// issue 3's targets.
func printTable(order []string, all map[string][]phaseResult) {
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tphase\tchecks\tok\tCPU-s/1000\tpeak RSS MB\terr processing ms\terr total ms\ttrue ms\tICMP RTT ms\tcollector CPU-s/1000\tbench CPU-s\t")
	for _, key := range order {
		rs := all[key]
		r0 := rs[0]
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.3f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%.2f\t\n", r0.tool, r0.phase,
			med(rs, func(r phaseResult) float64 { return float64(r.checks) }),
			med(rs, func(r phaseResult) float64 { return float64(r.ok) }),
			med(rs, func(r phaseResult) float64 { return r.perCheck }),
			med(rs, func(r phaseResult) float64 { return r.rssMB }),
			ms(med(rs, func(r phaseResult) float64 { return r.procErr })),
			ms(med(rs, func(r phaseResult) float64 { return r.totErr })),
			ms(med(rs, func(r phaseResult) float64 { return r.truth })),
			ms(med(rs, func(r phaseResult) float64 { return r.rttMS })),
			collCol(r0.tool, med(rs, func(r phaseResult) float64 { return r.perColl })),
			med(rs, func(r phaseResult) float64 { return r.benchCPU }))
	}
	tw.Flush()
	fmt.Println()
	limits := map[string]float64{"http": 0.35, "icmp": 0.2}
	for _, ph := range []string{"http", "icmp", "mixed"} {
		j, b := all["jangkau/"+ph], all["blackbox/"+ph]
		if j == nil || b == nil {
			continue
		}
		cpu := med(j, func(r phaseResult) float64 { return r.perCheck }) / med(b, func(r phaseResult) float64 { return r.perCheck })
		rss := med(j, func(r phaseResult) float64 { return r.rssMB }) / med(b, func(r phaseResult) float64 { return r.rssMB })
		verdict := ""
		if lim, ok := limits[ph]; ok {
			verdict = fmt.Sprintf(" (target ≤ %.2f: %s)", lim, pass(cpu <= lim))
		}
		fmt.Printf("jangkau/blackbox %-5s CPU per check %.3f%s, peak RSS %.2f\n", ph, cpu, verdict, rss)
	}
	if j := all["jangkau/http"]; j != nil {
		rss := med(j, func(r phaseResult) float64 { return r.rssMB })
		pe := med(j, func(r phaseResult) float64 { return r.procErr })
		fmt.Printf("jangkau http: peak RSS %.1f MB (target ≤ 25: %s), processing error %+.3f ms (target |err| ≤ 0.5: %s)\n",
			rss, pass(rss <= 25), pe, pass(math.Abs(pe) <= 0.5))
	}
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
