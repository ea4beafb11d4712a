package lab

import (
	"context"
	"encoding/csv"
	"fmt"
	"github.com/jangkau/jangkau/geo/region"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// result is one assertion's verdict with what was measured.
type result struct {
	name     string
	ok       bool
	measured []string // one line per district or figure
}

func (r *result) fail(format string, args ...any) {
	r.ok = false
	r.measured = append(r.measured, "✘ "+fmt.Sprintf(format, args...))
}

func (r *result) pass(format string, args ...any) {
	r.measured = append(r.measured, fmt.Sprintf(format, args...))
}

// evaluate checks every assertion once the results have settled.
func (l *lab) evaluate(ctx context.Context) []*result {
	var out []*result
	for i, a := range l.sc.Assertions {
		r := &result{name: a.Name, ok: true}
		if r.name == "" {
			r.name = fmt.Sprintf("assertion %d", i+1)
		}
		var err error
		switch {
		case a.Status != nil:
			err = l.assertStatus(ctx, a.Status, r)
		case a.Silent != nil:
			l.assertSilent(a.Silent, r)
		case a.Drained != nil:
			l.assertDrained(a.Drained, r)
		case a.RTT != nil:
			err = l.assertRTT(a.RTT, r)
		case a.Outage != nil:
			err = l.assertOutage(ctx, a.Outage, r)
		case a.StoredOnce != nil:
			err = l.assertStoredOnce(ctx, r)
		case a.Population != nil:
			err = l.assertPopulation(ctx, a.Population, r)
		}
		if err != nil {
			r.fail("%v", err)
		}
		mark := "✔"
		if !r.ok {
			mark = "✘"
		}
		l.printf("%s %s: %s", mark, r.name, strings.Join(r.measured, "; "))
		out = append(out, r)
	}
	return out
}

// window resolves a window to wall-clock times.
func (l *lab) window(w Window) (from, to time.Time, err error) {
	f, ok1 := l.marks.at(w.From)
	t, ok2 := l.marks.at(w.To)
	if !ok1 || !ok2 {
		return from, to, fmt.Errorf("window %s..%s: a mark was never reached", w.From, w.To)
	}
	return l.t0.Add(f), l.t0.Add(t), nil
}

func (l *lab) districtsOr(names []string) []int {
	var out []int
	for i, d := range l.sc.Districts {
		if len(names) == 0 || slices.Contains(names, d.Name) {
			out = append(out, i)
		}
	}
	return out
}

func pct(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
}

func ms(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmtMS(*v)
}

func (l *lab) assertStatus(ctx context.Context, a *StatusAssert, r *result) error {
	from, to, err := l.window(a.Window)
	if err != nil {
		return err
	}
	level := a.Level
	if level == 0 {
		level = 2
	}
	cells, _, err := l.api.coverage(ctx, level, windowQuery(from, to))
	if err != nil {
		return err
	}
	r.name += fmt.Sprintf(" [%s..%s, level %d, want %s]", a.From, a.To, level, strings.Join(a.Want, "|"))
	for _, i := range l.districtsOr(a.Districts) {
		d := l.sc.Districts[i]
		code := region.Ancestor(d.Region, level)
		c, ok := cells[code]
		if !ok {
			r.fail("%s: region %s not in the coverage", d.Name, code)
			continue
		}
		line := fmt.Sprintf("%s (%s %s): %s, availability %s, icmp loss %s, p95 %s, %d samples",
			d.Name, code, c.Name, c.Status, pct(c.Availability), pct(c.Loss), ms(c.P95), c.Samples)
		if slices.Contains(a.Want, c.Status) {
			r.pass("%s", line)
		} else {
			r.fail("%s", line)
		}
	}
	return nil
}

func (l *lab) assertSilent(a *SilentAssert, r *result) {
	r.name += fmt.Sprintf(" [%s silent %s..%s after %s]", a.District, fmtDur(a.Min), fmtDur(a.Max), a.After)
	l.rec.mu.Lock()
	m := l.rec.silent[watchKey(a.District, a.After)]
	l.rec.mu.Unlock()
	switch {
	case m == nil:
		r.fail("never measured (was %s reached?)", a.After)
	case m.err != nil:
		r.fail("%v", m.err)
	default:
		line := fmt.Sprintf("silent %s after %s; people affected then %d (its kecamatan's population %d)", fmtDur(m.after), a.After, m.people, m.expect)
		if m.after < a.Min || m.after > a.Max || m.people != m.expect || m.expect <= 0 {
			r.fail("%s", line)
		} else {
			r.pass("%s", line)
		}
	}
}

func (l *lab) assertDrained(a *DrainedAssert, r *result) {
	r.name += fmt.Sprintf(" [%s drained within %s after %s]", a.District, fmtDur(a.Max), a.After)
	l.rec.mu.Lock()
	m := l.rec.drained[watchKey(a.District, a.After)]
	l.rec.mu.Unlock()
	switch {
	case m == nil:
		r.fail("never measured (was %s reached?)", a.After)
	case m.err != nil:
		r.fail("%v", m.err)
	case m.after > a.Max:
		r.fail("backlog of %d results drained after %s", m.backlog, fmtDur(m.after))
	default:
		r.pass("backlog of %d results (up to seq %s) drained %s after %s", m.backlog, m.props["seq"], fmtDur(m.after), a.After)
	}
}

// assertRTT compares the icmp RTT the probes measured in the window with
// the delay configured on the link throughout it. The figure is the median,
// over checks, of each check's fastest ping (rtt_min): the delay a link
// adds is its floor; a mean also carries the scheduling noise of a
// two-core machine running two dozen processes, which the report shows
// beside it.
func (l *lab) assertRTT(a *RTTAssert, r *result) error {
	f, ok1 := l.marks.at(a.From)
	t, ok2 := l.marks.at(a.To)
	if !ok1 || !ok2 {
		return fmt.Errorf("window %s..%s: a mark was never reached", a.From, a.To)
	}
	tol := a.Tolerance
	if tol == 0 {
		tol = 2 * time.Millisecond
	}
	r.name += fmt.Sprintf(" [%s..%s, ±%s]", a.From, a.To, tol)
	l.rec.mu.Lock()
	defer l.rec.mu.Unlock()
	for _, i := range l.districtsOr(a.Districts) {
		d := l.sc.Districts[i]
		var want time.Duration
		changed := false
		for k, h := range l.links[i].delays {
			if h.at <= f {
				want = h.delay
			} else if h.at < t && k > 0 {
				changed = true
			}
		}
		if changed {
			r.fail("%s: the delay changed inside the window", d.Name)
			continue
		}
		var mins, avgs []float64
		for _, s := range l.rec.rtt {
			if s.district == i && s.at >= f && s.at < t && s.min > 0 {
				mins, avgs = append(mins, s.min), append(avgs, s.avg)
			}
		}
		if len(mins) == 0 {
			r.fail("%s: no icmp RTT measured", d.Name)
			continue
		}
		sort.Float64s(mins)
		sort.Float64s(avgs)
		med := mins[len(mins)/2]
		wantMS := float64(want) / float64(time.Millisecond)
		line := fmt.Sprintf("%s: configured %s, measured %s (median over %d checks of each check's fastest ping; its mean RTT median %s, %s..%s)",
			d.Name, want, fmtMS(med), len(mins), fmtMS(avgs[len(avgs)/2]), fmtMS(avgs[0]), fmtMS(avgs[len(avgs)-1]))
		if math.Abs(med-wantMS) > float64(tol)/float64(time.Millisecond) {
			r.fail("%s", line)
		} else {
			r.pass("%s", line)
		}
	}
	return nil
}

func (l *lab) assertOutage(ctx context.Context, a *OutageAssert, r *result) error {
	from, to, err := l.window(a.Window)
	if err != nil {
		return err
	}
	r.name += fmt.Sprintf(" [%s down %s..%s]", a.Service, a.From, a.To)
	var v servicesView
	if err := l.api.getJSON(ctx, "/api/v1/services?level=2&"+windowQuery(from, to), &v); err != nil {
		return err
	}
	found := false
	for _, o := range v.Outages {
		if o.Service == a.Service && o.From.Before(to) && o.To.After(from) {
			found = true
			r.pass("outage listed %s..%s", o.From.Format("15:04:05"), o.To.Format("15:04:05"))
		}
	}
	if !found {
		r.fail("no outage of %s listed by /api/v1/services", a.Service)
	}
	th := l.sc.Collector.Status.BlankBelow
	for _, i := range l.districtsOr(a.Districts) {
		d := l.sc.Districts[i]
		code := region.Ancestor(d.Region, 2)
		seen := false
		for _, c := range v.Cells {
			if c.Service != a.Service || c.Region != code {
				continue
			}
			seen = true
			line := fmt.Sprintf("%s: availability %s over %d checks", d.Name, pct(c.Availability), c.Samples)
			if c.Availability == nil || *c.Availability >= th || c.Samples == 0 {
				r.fail("%s", line)
			} else {
				r.pass("%s", line)
			}
		}
		if !seen {
			r.fail("%s: no %s results from %s", d.Name, a.Service, code)
		}
	}
	return nil
}

func (l *lab) assertStoredOnce(ctx context.Context, r *result) error {
	ps, err := l.api.probes(ctx)
	if err != nil {
		return err
	}
	for _, p := range l.probes {
		s, ok := ps[p.ID]
		line := fmt.Sprintf("%s: last_seq %d, results_stored %d, lost %d", p.ID, s.LastSeq, s.ResultsStored, s.Lost)
		if !ok || s.LastSeq == 0 || s.ResultsStored != s.LastSeq || s.Lost != 0 {
			r.fail("%s", line)
		} else {
			r.pass("%s", line)
		}
	}
	return nil
}

// assertPopulation checks populations and people affected against the
// scenario's population CSV and the deepest level's statuses.
func (l *lab) assertPopulation(ctx context.Context, a *PopulationAssert, r *result) error {
	from, to, err := l.window(a.Window)
	if err != nil {
		return err
	}
	level := a.Level
	if level == 0 {
		level = 2
	}
	r.name += fmt.Sprintf(" [%s..%s, level %d]", a.From, a.To, level)
	want, err := readPopulation(l.sc.PopulationCSV)
	if err != nil {
		return err
	}
	q := windowQuery(from, to)
	cells, _, err := l.api.coverage(ctx, level, q)
	if err != nil {
		return err
	}
	deepestLevel := 0
	for _, d := range l.sc.Districts {
		deepestLevel = max(deepestLevel, region.CodeLevel(d.Region))
	}
	deep, _, err := l.api.coverage(ctx, deepestLevel, q)
	if err != nil {
		return err
	}
	affectedWant := map[string]bool{}
	for _, i := range l.districtsOr(a.Affected) {
		if len(a.Affected) > 0 {
			affectedWant[region.Ancestor(l.sc.Districts[i].Region, level)] = true
		}
	}
	codes := make([]string, 0, len(cells))
	for c := range cells {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var total int64
	for _, code := range codes {
		c := cells[code]
		var sum, affected int64
		for dc, d := range deep {
			if !strings.HasPrefix(dc, code+".") || d.Population == nil {
				continue
			}
			sum += *d.Population
			if d.Status == "blank" || d.Status == "silent" {
				affected += *d.Population
			}
		}
		total += c.PeopleAffected
		pop := int64(-1)
		if c.Population != nil {
			pop = *c.Population
		}
		line := fmt.Sprintf("%s %s: population %d, people affected %d", code, c.Name, pop, c.PeopleAffected)
		bad := false
		if w, ok := want[code]; ok && pop != w {
			line += fmt.Sprintf(" (CSV %d)", w)
			bad = true
		}
		if c.PeopleAffected != affected {
			line += fmt.Sprintf(" (blank/silent kecamatan sum %d)", affected)
			bad = true
		}
		if pop > 0 && math.Abs(float64(sum-pop)) > 0.005*float64(pop) {
			line += fmt.Sprintf(" (kecamatan estimates sum %d)", sum)
			bad = true
		}
		if affectedWant[code] != (c.PeopleAffected > 0) {
			line += fmt.Sprintf(" (want affected: %v)", affectedWant[code])
			bad = true
		}
		if bad {
			r.fail("%s", line)
		} else if c.PeopleAffected > 0 || want[code] > 0 {
			r.pass("%s", line)
		}
	}
	// The province carries its own figure; its people affected are the sum.
	if len(codes) == 0 {
		return fmt.Errorf("no regions at level %d", level)
	}
	if p, ok := want[region.Ancestor(codes[0], 1)]; ok {
		prov, _, err := l.api.coverage(ctx, 1, q)
		if err != nil {
			return err
		}
		pc := prov[region.Ancestor(codes[0], 1)]
		line := fmt.Sprintf("province %s: population %v (CSV %d), people affected %d (sum of kabupaten %d)", pc.Code, deref(pc.Population), p, pc.PeopleAffected, total)
		if pc.Population == nil || *pc.Population != p || pc.PeopleAffected != total {
			r.fail("%s", line)
		} else {
			r.pass("%s", line)
		}
	}
	return nil
}

func deref(p *int64) any {
	if p == nil {
		return "–"
	}
	return *p
}

// readPopulation reads the scenario's code,population CSV.
func readPopulation(path string) (map[string]int64, error) {
	if path == "" {
		return nil, fmt.Errorf("population: the scenario has no population_csv")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]int64{}
	for i, rec := range recs {
		if i == 0 || len(rec) < 2 {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(rec[1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		out[strings.TrimSpace(rec[0])] = n
	}
	return out, nil
}
