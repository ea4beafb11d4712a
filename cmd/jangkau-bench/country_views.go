package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jangkau/jangkau/geo/tile"
	"github.com/jangkau/jangkau/wire"
)

// ingestCountry sends the day chunk by chunk (each probe one batch per
// chunk, encoded before the clock starts), then -live real-time uploads,
// and records the day in bench.json.
func ingestCountry(w *countryWorld, chunk time.Duration, senders, live int) error {
	c, startup, err := w.startCollector()
	if err != nil {
		return err
	}
	defer stopCollector(c)
	pid := c.cmd.Process.Pid
	fmt.Printf("collector up in %.1f s (regions loaded, store opened); VmHWM %.0f MB\n", startup.Seconds(), kb(procStatus(pid)["VmHWM"]))
	url := c.url + "/api/v1/ingest"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 5 * time.Minute}
	defer client.CloseIdleConnections()

	seqs := make([]uint64, len(w.probes))
	start := w.p.End.Add(-time.Duration(w.p.Hours) * time.Hour)
	var sent int64
	var posting time.Duration
	var requests int
	var cpu float64 // the collector's, ms, while posting
	for from := start; from.Before(w.p.End); from = from.Add(chunk) {
		to := from.Add(chunk)
		if to.After(w.p.End) {
			to = w.p.End
		}
		bodies := make([][]byte, len(w.probes))
		counts := make([]int, len(w.probes))
		if err := parallelDo(len(w.probes), func(i int) error {
			var err error
			bodies[i], counts[i], err = w.batchFor(i, from, to, &seqs[i])
			return err
		}); err != nil {
			return err
		}
		var n int64
		for _, k := range counts {
			n += int64(k)
		}
		t0, cpu0 := time.Now(), procCPU(pid)
		var next atomic.Int64
		if err := parallelN(senders, func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return nil
				}
				if bodies[i] == nil {
					continue
				}
				if err := postAs(client, url, w.probes[i].token, bodies[i]); err != nil {
					return fmt.Errorf("probe %s: %w", w.probes[i].id, err)
				}
			}
		}); err != nil {
			return err
		}
		el := time.Since(t0)
		posting += el
		cpu += procCPU(pid) - cpu0
		sent += n
		requests += len(bodies)
		st := procStatus(pid)
		fmt.Printf("  %s–%s: %d results in %d batches, %.1f s, %.0f results/s; collector VmRSS %.0f MB, VmHWM %.0f MB\n",
			from.Format("15:04"), to.Format("15:04"), n, len(bodies), el.Seconds(), float64(n)/el.Seconds(), kb(st["VmRSS"]), kb(st["VmHWM"]))
	}
	realRate := float64(w.p.Probes*w.p.Checks) / w.p.Interval.Seconds()
	rate := float64(sent) / posting.Seconds()
	fmt.Printf("day: %d results (every %s per check; the real day at %s is %.0f× more) in %d batches, %.1f s of posting: %.0f results/s, %.1f× the real-time rate of %.0f/s; "+
		"the collector used %.1f CPU-s, %.0f results per CPU-second\n",
		sent, w.p.Every, w.p.Interval, float64(w.p.Every)/float64(w.p.Interval), requests, posting.Seconds(), rate, rate/realRate, realRate,
		cpu/1000, float64(sent)/(cpu/1000))

	// Real-time shape: every probe in turn uploads its last 5 s.
	if live > 0 {
		per := max(int(realRate*uploadEvery.Seconds()/float64(len(w.probes))+0.5), 1)
		bodies := make([][]byte, live)
		owner := make([]int, live)
		now := time.Now().UTC()
		if err := func() error {
			for j := range bodies {
				i := j % len(w.probes)
				rs := make([]wire.Result, per)
				for k := range rs {
					seqs[i]++
					rs[k] = countryResult(seqs[i], now.Add(time.Duration(j/len(w.probes))*uploadEvery), k, w.probes[i].class, rand.New(rand.NewPCG(uint64(j), uint64(k))))
				}
				b, err := gzipBatch(wire.Batch{Probe: w.probes[i].id, SentAt: now, FirstSeq: rs[0].Seq, Results: rs})
				if err != nil {
					return err
				}
				bodies[j], owner[j] = b, i
			}
			return nil
		}(); err != nil {
			return err
		}
		t0, cpu0 := time.Now(), procCPU(pid)
		var next atomic.Int64
		conc := senders * 4
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = conc
		if err := parallelN(conc, func() error {
			for {
				j := int(next.Add(1) - 1)
				if j >= len(bodies) {
					return nil
				}
				if err := postAs(client, url, w.probes[owner[j]].token, bodies[j]); err != nil {
					return err
				}
			}
		}); err != nil {
			return err
		}
		el, cpuS := time.Since(t0).Seconds(), (procCPU(pid)-cpu0)/1000
		fmt.Printf("real-time uploads: %d requests of %d results from %d probes (%d senders) in %.1f s: %.0f requests/s, %.1f× the %.0f/s of %d probes uploading every %s; "+
			"the collector used %.1f CPU-s, %.0f requests per CPU-second\n",
			live, per, min(live, len(w.probes)), conc, el, float64(live)/el, float64(live)/el/(float64(len(w.probes))/uploadEvery.Seconds()),
			float64(len(w.probes))/uploadEvery.Seconds(), len(w.probes), uploadEvery, cpuS, float64(live)/cpuS)
	}
	st := procStatus(pid)
	fmt.Printf("after ingest: collector VmRSS %.0f MB, VmHWM %.0f MB; store %.0f MB\n", kb(st["VmRSS"]), kb(st["VmHWM"]), mib(uint64(dirSize(filepath.Join(w.dir, "data")))))
	w.p.Results = sent
	b, _ := json.Marshal(w.p)
	return os.WriteFile(filepath.Join(w.dir, "bench.json"), b, 0o644)
}

// measureCountryViews times the views in fresh collector processes, -runs
// times: one process answers the province level first (cold), then the
// kecamatan and desa levels and a zoom-5 tile, each asked for the first
// time in it; another answers the kabupaten level first. Each view is then
// repeated (warm). VmHWM is read after each, and the collector's CPU time
// beside the wall time, because other jobs share the machine.
func measureCountryViews(w *countryWorld, runs int) error {
	from := w.p.End.Add(-time.Duration(w.p.Hours) * time.Hour).Format(time.RFC3339)
	to := w.p.End.Format(time.RFC3339)
	window := "&from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to)
	b := w.country.Bound()
	mid := tile.At((b.Min[1]+b.Max[1])/2, (b.Min[0]+b.Max[0])/2, 5)
	type view struct{ name, path string }
	level := func(n int, name string) view {
		return view{fmt.Sprintf("%s (level %d)", name, n), fmt.Sprintf("/api/v1/coverage?level=%d%s", n, window)}
	}
	tileView := view{fmt.Sprintf("tile 5/%d/%d", mid.X, mid.Y), fmt.Sprintf("/tiles/5/%d/%d.mvt?%s", mid.X, mid.Y, window[1:])}
	processes := [][]view{
		{level(1, "province"), level(3, "kecamatan"), level(4, "desa"), tileView},
		{level(2, "kabupaten")},
	}
	fmt.Printf("views over %s–%s, %d results; %d runs, each in fresh processes:\n", from, to, w.p.Results, runs)
	type fig struct{ cold, coldCPU, warm, warmCPU, hwmCold, hwmWarm, bytes float64 }
	figs := map[string][]fig{}
	answers := map[string]string{}
	var starts []float64
	for range runs {
		for _, vs := range processes {
			c, startup, err := w.startCollector()
			if err != nil {
				return err
			}
			starts = append(starts, startup.Seconds())
			pid := c.cmd.Process.Pid
			for i, v := range vs {
				cpu0 := procCPU(pid)
				cold, body, err := timedGet(c.url + v.path)
				if err != nil {
					stopCollector(c)
					return fmt.Errorf("%s: %w", v.name, err)
				}
				f := fig{cold: cold, coldCPU: procCPU(pid) - cpu0, hwmCold: kb(procStatus(pid)["VmHWM"]), bytes: float64(len(body))}
				var warm []float64
				cpu0 = procCPU(pid)
				for range 5 {
					d, _, err := timedGet(c.url + v.path)
					if err != nil {
						stopCollector(c)
						return err
					}
					warm = append(warm, d)
				}
				f.warm, f.warmCPU, f.hwmWarm = median(warm), (procCPU(pid)-cpu0)/float64(len(warm)), kb(procStatus(pid)["VmHWM"])
				name := v.name
				if i == 0 {
					name += ", first"
				}
				figs[name] = append(figs[name], f)
				answers[name] = describeAnswer(body)
			}
			stopCollector(c)
		}
	}
	fmt.Printf("  collector start (regions loaded, store opened, until /healthz): median %.1f s\n", median(starts))
	for _, vs := range processes {
		for i, v := range vs {
			name := v.name
			if i == 0 {
				name += ", first"
			}
			fs := figs[name]
			med := func(get func(fig) float64) float64 {
				xs := make([]float64, len(fs))
				for i, f := range fs {
					xs[i] = get(f)
				}
				return median(xs)
			}
			fmt.Printf("  %-28s cold %6.0f ms (%5.0f ms CPU), warm %6.1f ms (%5.0f ms CPU); %.1f MB; VmHWM %5.0f MB after cold, %5.0f MB after warm; %s\n", name,
				med(func(f fig) float64 { return f.cold }), med(func(f fig) float64 { return f.coldCPU }), med(func(f fig) float64 { return f.warm }),
				med(func(f fig) float64 { return f.warmCPU }), med(func(f fig) float64 { return f.bytes })/1e6,
				med(func(f fig) float64 { return f.hwmCold }), med(func(f fig) float64 { return f.hwmWarm }), answers[name])
		}
	}
	return nil
}

// procCPU is the process's user and system CPU time in ms (from
// /proc/PID/stat, in clock ticks of 10 ms).
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) * 10
}

// timedGet returns the time to the last byte, in ms, and the body.
func timedGet(u string) (float64, []byte, error) {
	t0 := time.Now()
	resp, err := http.Get(u)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	el := float64(time.Since(t0).Microseconds()) / 1000
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s %s", u, resp.Status, clipOut(string(body)))
	}
	return el, body, err
}

// describeAnswer counts a coverage answer's features by status and sums
// its samples, so that the figures are seen to be of real data.
func describeAnswer(body []byte) string {
	var fc struct {
		Features []struct {
			Properties struct {
				Status  string `json:"status"`
				Samples int64  `json:"samples"`
			} `json:"properties"`
		} `json:"features"`
	}
	if json.Unmarshal(body, &fc) != nil || fc.Features == nil {
		return fmt.Sprintf("%d bytes", len(body))
	}
	status := map[string]int{}
	var samples int64
	for _, f := range fc.Features {
		status[f.Properties.Status]++
		samples += f.Properties.Samples
	}
	return fmt.Sprintf("%d regions %v, %d samples", len(fc.Features), status, samples)
}

// parallelDo runs fn(0..n-1) on two goroutines per CPU.
func parallelDo(n int, fn func(i int) error) error {
	var next atomic.Int64
	return parallelN(4, func() error {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return nil
			}
			if err := fn(i); err != nil {
				return err
			}
		}
	})
}

// parallelN runs fn on n goroutines and returns the first error.
func parallelN(n int, fn func() error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() { errs[g] = fn() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
