package evidence

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// PassGap ends a survey pass: a probe's results in one place more than
// this apart belong to two passes. A drive through a desa takes minutes;
// half an hour without a result there means the officer left and came
// back (or parked: a parked probe's results are one long pass, which
// is one visit).
const PassGap = 30 * time.Minute

// SurveyPoint is one result of a probe in survey mode: where and when it
// was measured, and whether the check succeeded.
type SurveyPoint struct {
	Probe, Carrier string
	Time           time.Time
	Lat, Lon       float64
	OK             bool
}

// Pass is one survey probe's visit to one place: its results there with
// no gap over PassGap.
type Pass struct {
	Probe, Carrier string
	Place          string // desa code or quadkey
	From, To       time.Time
	Checks, OK     int
}

// PassSignal judges passes by the share of their checks that succeeded.
type PassSignal func(checks, ok int) Signal

// DefaultPassSignal uses the default status thresholds (docs/status.md):
// below 50 % of checks ok is none, below 95 % weak, else strong.
func DefaultPassSignal(checks, ok int) Signal { return ShareSignal(0.5, 0.95)(checks, ok) }

// ShareSignal judges by availability: below blankBelow none, below
// degradedBelow weak, else strong; no checks: unknown.
func ShareSignal(blankBelow, degradedBelow float64) PassSignal {
	return func(checks, ok int) Signal {
		if checks == 0 {
			return SignalUnknown
		}
		switch av := float64(ok) / float64(checks); {
		case av < blankBelow:
			return SignalNone
		case av < degradedBelow:
			return SignalWeak
		}
		return SignalStrong
	}
}

// Passes cuts points into passes per probe and place; place says where a
// point lies ("" drops it). The passes come out by place, probe and time.
func Passes(points []SurveyPoint, place func(lat, lon float64) string) []Pass {
	type key struct{ probe, place string }
	byKey := map[key][]SurveyPoint{}
	carrier := map[key]string{}
	for _, p := range points {
		pl := place(p.Lat, p.Lon)
		if pl == "" {
			continue
		}
		k := key{p.Probe, pl}
		byKey[k] = append(byKey[k], p)
		carrier[k] = p.Carrier
	}
	var out []Pass
	for k, pts := range byKey {
		slices.SortFunc(pts, func(a, b SurveyPoint) int { return a.Time.Compare(b.Time) })
		cur := Pass{Probe: k.probe, Carrier: carrier[k], Place: k.place, From: pts[0].Time}
		for i, p := range pts {
			if i > 0 && p.Time.Sub(pts[i-1].Time) > PassGap {
				out = append(out, cur)
				cur = Pass{Probe: k.probe, Carrier: carrier[k], Place: k.place, From: p.Time}
			}
			cur.To = p.Time
			cur.Checks++
			if p.OK {
				cur.OK++
			}
		}
		out = append(out, cur)
	}
	slices.SortFunc(out, func(a, b Pass) int {
		return cmp.Or(cmp.Compare(a.Place, b.Place), cmp.Compare(a.Probe, b.Probe), a.From.Compare(b.From))
	})
	return out
}

// passFindings are the survey findings of passes: one per place and
// carrier, counting its passes, dated by the newest pass's end.
func passFindings(passes []Pass, judge PassSignal) map[string][]Finding {
	if judge == nil {
		judge = DefaultPassSignal
	}
	type key struct{ place, carrier string }
	type sum struct {
		passes, checks, ok int
		last               time.Time
	}
	sums := map[key]*sum{}
	var order []key
	for _, p := range passes {
		k := key{p.Place, p.Carrier}
		s := sums[k]
		if s == nil {
			s = &sum{}
			sums[k] = s
			order = append(order, k)
		}
		s.passes++
		s.checks += p.Checks
		s.ok += p.OK
		s.last = maxTime(s.last, p.To)
	}
	out := map[string][]Finding{}
	for _, k := range order {
		s := sums[k]
		passes := "1 survey pass"
		if s.passes != 1 {
			passes = fmt.Sprintf("%d survey passes", s.passes)
		}
		if k.carrier != "" {
			passes += " on " + k.carrier
		}
		out[k.place] = append(out[k.place], Finding{
			Layer: LayerSurvey, Class: ClassMeasured, Source: "jangkau survey", Carrier: k.carrier,
			Signal: judge(s.checks, s.ok), Date: s.last, Count: s.passes,
			Detail: fmt.Sprintf("%s, %d of %d checks ok", passes, s.ok, s.checks),
		})
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
