package evidence

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Layer IDs of jangkau's own measurements in a Summary's findings: they
// come from the results store, not from a Layer.
const (
	// LayerProbes: the measured status of the place over the view's window
	// (coverage engine: good, degraded, blank), over every carrier.
	LayerProbes = "probes"
	// LayerSurvey: survey passes through the place (see Passes), one
	// finding per carrier.
	LayerSurvey = "survey"
)

// The combined verdict. Combine draws it from a place's findings by these
// clauses, in order (docs/evidence-rule.md shows them with examples):
//
//  1. Only findings that say something count: Signal unknown ("no Ookla
//     tests") is shown but never decides.
//  2. Measured beats reported beats claimed: the verdict rests on the
//     strongest class (ClassOf; jangkau's probes and survey passes are
//     measured) that has a finding that says something. A census row
//     never outvotes a measurement, a claim never outvotes either.
//  3. Within that class, newer beats older: the finding with the newest
//     Date decides. On a tie the worse signal decides: two equally fresh
//     sources that disagree leave a possible blank spot, and a blank spot
//     shown as covered is never visited, while one shown as blank costs a
//     field check.
//  4. The signal maps to the verdict: strong → covered, weak → weak,
//     none → none; no finding that says something → unknown.
//  5. A carrier's claim (class claimed, signal weak or strong) is disputed
//     by every measured finding at the place that contradicts it: signal
//     none, or signal weak against a claimed strong. A measurement counts
//     when it is of the claiming carrier's network or names no carrier
//     (Ookla's tiles and the probes' status mix every network a subscriber
//     or an uplink used, so "none" there is none on the claimant's too); a
//     measurement of another named carrier's network says nothing about
//     the claimant's and does not count. Measurements dispute whatever
//     their age: the dispute lists them with their dates and counts, and
//     the planner weighs them. Disputes do not change the verdict, which
//     already prefers the measurements.

// classRank orders classes: larger is stronger.
func classRank(c Class) int {
	switch c {
	case ClassMeasured:
		return 3
	case ClassReported:
		return 2
	case ClassClaimed:
		return 1
	}
	return 0
}

// classOfFinding is the finding's class: its own when set, else its
// kind's; jangkau's own findings (no kind) are measured.
func classOfFinding(f *Finding) Class {
	switch {
	case f.Class != "":
		return f.Class
	case f.Kind == "":
		return ClassMeasured
	}
	return ClassOf(f.Kind)
}

// VerdictOf maps a signal to its verdict.
func VerdictOf(s Signal) Verdict {
	switch s {
	case SignalStrong:
		return VerdictCovered
	case SignalWeak:
		return VerdictWeak
	case SignalNone:
		return VerdictNone
	}
	return VerdictUnknown
}

// Combine draws a place's verdict from its findings by the rule above.
// It fills each finding's Class (when empty) and Age (now - Date), orders
// the findings strongest class first, newest first, and returns them with
// the verdict, its basis and the disputed claims. The caller sets Region
// or Quadkey. Combine keeps no state and reads no clock: the same
// findings and now give the same summary.
func Combine(findings []Finding, now time.Time) Summary {
	fs := slices.Clone(findings)
	for i := range fs {
		fs[i].Class = classOfFinding(&fs[i])
		if !fs[i].Date.IsZero() {
			fs[i].Age = now.Sub(fs[i].Date)
		}
	}
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(classRank(b.Class), classRank(a.Class)),
			b.Date.Compare(a.Date),
			cmp.Compare(a.Layer, b.Layer),
			cmp.Compare(a.Carrier, b.Carrier))
	})
	s := Summary{Findings: fs, Verdict: VerdictUnknown}
	if d := decisive(fs); d != nil {
		s.Verdict, s.Basis = VerdictOf(d.Signal), d.Class
	}
	s.Disputes = disputes(fs)
	return s
}

// decisive is the finding the verdict rests on (clauses 1-3), or nil.
func decisive(fs []Finding) *Finding {
	var best *Finding
	for i := range fs {
		f := &fs[i]
		if f.Signal == SignalUnknown {
			continue
		}
		switch {
		case best == nil:
			best = f
		case classRank(f.Class) != classRank(best.Class):
			if classRank(f.Class) > classRank(best.Class) {
				best = f
			}
		case f.Date.After(best.Date):
			best = f
		case f.Date.Equal(best.Date) && f.Signal < best.Signal:
			best = f
		}
	}
	return best
}

// disputes are the claims measured findings contradict (clause 5).
func disputes(fs []Finding) []Dispute {
	var out []Dispute
	for _, c := range fs {
		if c.Class != ClassClaimed || c.Signal < SignalWeak {
			continue
		}
		var by []Finding
		for _, m := range fs {
			if m.Class != ClassMeasured || !sameNetwork(m.Carrier, c.Carrier) {
				continue
			}
			if m.Signal == SignalNone || (m.Signal == SignalWeak && c.Signal == SignalStrong) {
				by = append(by, m)
			}
		}
		if len(by) > 0 {
			out = append(out, Dispute{Claim: c.Layer, Carrier: c.Carrier, Tech: c.Tech, By: by})
		}
	}
	return out
}

// sameNetwork says whether a measurement of carrier measured can speak
// of claimant's network: the same carrier (case aside), or none named.
func sameNetwork(measured, claimant string) bool {
	return measured == "" || strings.EqualFold(strings.TrimSpace(measured), strings.TrimSpace(claimant))
}

// unit names what a finding's Count counts, singular and plural.
func unit(f *Finding) (string, string) {
	switch {
	case f.Layer == LayerSurvey:
		return "survey pass", "survey passes"
	case f.Layer == LayerProbes:
		return "probe", "probes"
	case f.Kind == KindSpeedtest:
		return "speed test", "speed tests"
	case f.Kind == KindOokla:
		return "Ookla test", "Ookla tests"
	case f.Kind == KindPodes:
		return "census row", "census rows"
	}
	return "finding", "findings"
}

// Text is the dispute for people: "XL claims 4G: disputed by 3 survey
// passes, 1 probe". Counts of findings of the same kind add up.
func (d Dispute) Text() string {
	type tally struct {
		one, many string
		n         int
	}
	var order []string
	sums := map[string]*tally{}
	for i := range d.By {
		f := &d.By[i]
		one, many := unit(f)
		t := sums[many]
		if t == nil {
			t = &tally{one: one, many: many}
			sums[many] = t
			order = append(order, many)
		}
		t.n += max(f.Count, 1)
	}
	parts := make([]string, len(order))
	for i, k := range order {
		t := sums[k]
		parts[i] = fmt.Sprintf("%d %s", t.n, t.many)
		if t.n == 1 {
			parts[i] = "1 " + t.one
		}
	}
	who := d.Carrier
	if who == "" {
		who = d.Claim
	}
	claim := who + " claims coverage"
	if d.Tech != "" {
		claim = who + " claims " + string(d.Tech)
	}
	return claim + ": disputed by " + strings.Join(parts, ", ")
}

// Text is the summary for people: each finding's detail, the disputed
// claims with what disputes them, e.g. "no signal per Podes 2024; no
// Ookla tests; XL claims 4G: disputed by 3 survey passes".
func (s *Summary) Text() string {
	disputed := map[string]bool{}
	var parts []string
	for _, d := range s.Disputes {
		disputed[d.Claim] = true
	}
	for i := range s.Findings {
		f := &s.Findings[i]
		if f.Class == ClassClaimed && disputed[f.Layer] {
			continue // said by its dispute
		}
		if f.Detail != "" {
			parts = append(parts, f.Detail)
		}
	}
	for _, d := range s.Disputes {
		parts = append(parts, d.Text())
	}
	return strings.Join(parts, "; ")
}

// Sources counts the findings that say something (signal not unknown):
// how much evidence the verdict could draw on.
func (s *Summary) Sources() int {
	n := 0
	for _, f := range s.Findings {
		if f.Signal != SignalUnknown {
			n++
		}
	}
	return n
}
