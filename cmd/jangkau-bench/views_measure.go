package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// measure times the views on fresh collectors and repeated, then the
// peer, and prints the table for each view.
func (b *viewsBench) measure(ctx context.Context) error {
	views := []struct{ name, path string }{{"coverage", viewsCoverage}, {"services", viewsServices}}
	figs := make([]viewFigures, len(views))
	n := b.d.perProbe * len(b.d.probes)
	age := time.Since(b.params.Anchor)
	fmt.Printf("measuring: the views' window [now-%s, now) holds about %s of the data set's %s results (it ended %s ago); load average %s\n",
		b.o.window, thousands(inWindow(n, age, b.o.window)), thousands(n), age.Round(time.Second), loadAvg())

	// Embedded: cold, then repeats idle and while results arrive.
	for i, v := range views {
		cold, _, err := b.colds(ctx, "embedded", v.path)
		if err != nil {
			return err
		}
		figs[i].EmbeddedCold = cold
	}
	e, err := b.collector(ctx, "embedded")
	if err != nil {
		return err
	}
	_, body, err := e.get(ctx, viewsCoverage)
	if err != nil {
		e.stop()
		return err
	}
	embStatuses, embAt := body, time.Now()
	for _, v := range views {
		idle, err := b.repeats(ctx, e, v.path)
		if err != nil {
			e.stop()
			return err
		}
		fmt.Printf("embedded %s: repeat, nothing arriving: %s\n", v.name, fmtDur(idle))
	}
	ls := b.d.sendLive(ctx, b.o.rate, func(probe string, body []byte) error { return e.post(ctx, probe, body) })
	time.Sleep(2 * time.Second) // the stream runs before the first repeat
	for i, v := range views {
		if figs[i].EmbeddedLive, err = b.repeats(ctx, e, v.path); err != nil {
			break
		}
	}
	rate, lost := ls.stop()
	e.stop()
	if err != nil {
		return err
	}
	fmt.Printf("embedded: results arriving during the repeats: %.0f results/s stored, %d refused or lost\n", rate, lost)
	figs[0].LiveRate, figs[1].LiveRate = rate, rate

	// InfluxDB: cold and repeats on collector a, then a and b compared.
	for i, v := range views {
		if figs[i].InfluxCold, _, err = b.colds(ctx, "influx-a", v.path); err != nil {
			return err
		}
	}
	a, err := b.collector(ctx, "influx-a")
	if err != nil {
		return err
	}
	defer a.stop()
	for i, v := range views {
		if figs[i].InfluxRepeat, err = b.repeats(ctx, a, v.path); err != nil {
			return err
		}
	}
	bc, err := b.collector(ctx, "influx-b")
	if err != nil {
		return err
	}
	defer bc.stop()
	same, sa, err := sameStatuses(ctx, a, bc)
	if err != nil {
		return err
	}
	figs[0].SameStatuses, figs[1].SameStatuses = same, same
	if se, err := statuses(embStatuses); err == nil {
		fmt.Printf("embedded and InfluxDB statuses (answers %s apart): %s\n", time.Since(embAt).Round(time.Second), diffStatuses(se, sa))
		if b.reused {
			fmt.Println("  (reused stores: the embedded one also holds the results posted live by earlier runs)")
		}
	}

	// The peer, over the window the collectors answered for: [now-24h,
	// now) holds what a reused store still has of the data set.
	to := time.Now().UTC().Truncate(time.Millisecond)
	from := to.Add(-b.o.window)
	if err := b.peer(ctx, from, to, &figs[0]); err != nil {
		return err
	}
	figs[1].PeerCold, figs[1].PeerRepeat = figs[0].PeerCold, figs[0].PeerRepeat

	fmt.Printf("measured: load average %s\n", loadAvg())
	for i, v := range views {
		fmt.Printf("\n%s (cold: median of up to %d fresh collectors; repeat: median of up to %d requests; -budget %s per series)\n\n", v.path, b.o.colds, b.o.repeats, b.o.budget)
		fmt.Print(formatViewsTable(fmt.Sprintf("view (%s results, 24 h, desa level)", thousands(n)), viewsRows(figs[i])))
	}
	return nil
}

// colds starts collector name afresh -colds times and times its first
// request of path each time.
func (b *viewsBench) colds(ctx context.Context, name, path string) (time.Duration, []byte, error) {
	var ts []float64
	var body []byte
	start := time.Now()
	for range b.o.colds {
		if len(ts) >= 1 && time.Since(start) > b.o.budget {
			break
		}
		c, err := b.collector(ctx, name)
		if err != nil {
			return 0, nil, err
		}
		took, bd, err := c.get(ctx, path)
		c.stop()
		if err != nil {
			return 0, nil, err
		}
		ts, body = append(ts, float64(took)), bd
	}
	m := time.Duration(median(ts))
	fmt.Printf("%s %s: cold %s (median of %d: %s)\n", name, path, fmtDur(m), len(ts), fmtDurs(ts))
	return m, body, nil
}

// repeats asks c for path -repeats times after one warming request and
// returns the median.
func (b *viewsBench) repeats(ctx context.Context, c *viewsCollector, path string) (time.Duration, error) {
	if _, _, err := c.get(ctx, path); err != nil {
		return 0, err
	}
	var ts []float64
	start := time.Now()
	for range b.o.repeats {
		if len(ts) >= 3 && time.Since(start) > b.o.budget {
			break
		}
		took, _, err := c.get(ctx, path)
		if err != nil {
			return 0, err
		}
		ts = append(ts, float64(took))
	}
	m := time.Duration(median(ts))
	fmt.Printf("%s %s: repeat %s (median of %d, min %s, max %s)\n", c.name, path, fmtDur(m), len(ts), fmtDur(time.Duration(minOf(ts))), fmtDur(time.Duration(maxOf(ts))))
	return m, nil
}

// sameStatuses asks a, b, then a again for the desa view, until a's two
// answers agree (no minute turned in between), and compares b's statuses
// with them byte for byte.
func sameStatuses(ctx context.Context, a, b *viewsCollector) (bool, []byte, error) {
	for try := 0; ; try++ {
		var got [3][]byte
		for i, c := range []*viewsCollector{a, b, a} {
			_, body, err := c.get(ctx, viewsCoverage)
			if err != nil {
				return false, nil, err
			}
			if got[i], err = statuses(body); err != nil {
				return false, nil, fmt.Errorf("collector %s: %w", c.name, err)
			}
		}
		if bytes.Equal(got[0], got[2]) || try == 2 {
			same := bytes.Equal(got[0], got[1])
			fmt.Printf("InfluxDB collectors a and b: statuses of %d bytes, %s\n", len(got[0]), diffStatuses(got[0], got[1]))
			return same, got[0], nil
		}
	}
}

type desaStatus struct {
	Code   string `json:"code"`
	Status string `json:"status"`
}

// statuses is the status of every region in a coverage answer, by code,
// as JSON: the bytes two collectors must agree on.
func statuses(body []byte) ([]byte, error) {
	var fc struct {
		Features []struct {
			Properties desaStatus `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		return nil, fmt.Errorf("coverage answer: %w", err)
	}
	if len(fc.Features) == 0 {
		return nil, fmt.Errorf("coverage answer has no features: %s", clipOut(string(body)))
	}
	out := make([]desaStatus, len(fc.Features))
	for i, f := range fc.Features {
		out[i] = f.Properties
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return json.Marshal(out)
}

// diffStatuses says whether two statuses documents are byte-identical and
// how many regions differ, with the count of each status of x.
func diffStatuses(x, y []byte) string {
	var a, b []desaStatus
	json.Unmarshal(x, &a)
	json.Unmarshal(y, &b)
	count := map[string]int{}
	for _, s := range a {
		count[s.Status]++
	}
	if bytes.Equal(x, y) {
		return fmt.Sprintf("byte-identical (%d regions: %v)", len(a), count)
	}
	differ := 0
	m := map[string]string{}
	for _, s := range b {
		m[s.Code] = s.Status
	}
	for _, s := range a {
		if m[s.Code] != s.Status {
			differ++
		}
	}
	return fmt.Sprintf("DIFFERENT: %d of %d regions differ (%d vs %d regions; first: %v)", differ, len(a), len(a), len(b), count)
}

// peer times every PostGIS form: cold right after a restart of the
// server (-colds times), then -repeats repeats; the best form is the one
// with the lowest cold median.
func (b *viewsBench) peer(ctx context.Context, from, to time.Time, f *viewFigures) error {
	fmt.Printf("\nPostGIS forms of the desa aggregate over [%s, %s):\n", from.Format(time.RFC3339), to.Format(time.RFC3339))
	for _, form := range pgForms {
		var cold, rep []float64
		var rows int
		start := time.Now()
		for range b.o.colds {
			if len(cold) >= 1 && time.Since(start) > b.o.budget {
				break
			}
			b.pg.stop()
			if err := b.pg.start(ctx); err != nil {
				return err
			}
			took, n, err := b.pg.query(ctx, form.sql, from, to)
			if err != nil {
				return fmt.Errorf("PostGIS form %s: %w", form.name, err)
			}
			cold, rows = append(cold, float64(took)), n
		}
		start = time.Now()
		for range b.o.repeats {
			if len(rep) >= 3 && time.Since(start) > b.o.budget {
				break
			}
			took, _, err := b.pg.query(ctx, form.sql, from, to)
			if err != nil {
				return err
			}
			rep = append(rep, float64(took))
		}
		c, r := time.Duration(median(cold)), time.Duration(median(rep))
		fmt.Printf("  %-13s cold %s (%s), repeat %s (median of %d); %d rows: %s\n", form.name, fmtDur(c), fmtDurs(cold), fmtDur(r), len(rep), rows, form.what)
		if f.PeerCold == 0 || c < f.PeerCold {
			f.PeerCold, f.PeerRepeat = c, r
			fmt.Printf("  (best so far: %s)\n", form.name)
		}
	}
	return nil
}

func fmtDurs(ts []float64) string {
	var b bytes.Buffer
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(fmtDur(time.Duration(t)))
	}
	return b.String()
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// thousands writes n with comma separators: 10,000,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// inWindow is about how many of n results spread evenly over a window
// that ended age ago are still in the window that ends now.
func inWindow(n int, age, window time.Duration) int {
	switch {
	case age <= 0:
		return n
	case age >= window:
		return 0
	}
	return int(float64(n) * float64(window-age) / float64(window))
}
