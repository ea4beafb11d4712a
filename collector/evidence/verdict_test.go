package evidence

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	tNow    = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tToday  = tNow.Add(-time.Hour)
	tWeek   = tNow.AddDate(0, 0, -7)
	tCensus = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	tClaim  = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
)

func podes(s Signal, d time.Time) Finding {
	return Finding{Layer: "podes-2024", Kind: KindPodes, Signal: s, Date: d, Detail: "per Podes 2024: " + s.String()}
}
func ookla(s Signal, d time.Time, tests int) Finding {
	return Finding{Layer: "ookla-mobile", Kind: KindOokla, Signal: s, Date: d, Count: tests}
}
func probes(s Signal, d time.Time) Finding {
	return Finding{Layer: LayerProbes, Signal: s, Date: d, Count: 1}
}
func survey(carrier string, s Signal, d time.Time, passes int) Finding {
	return Finding{Layer: LayerSurvey, Carrier: carrier, Signal: s, Date: d, Count: passes}
}
func speedtests(carrier string, s Signal, d time.Time, n int) Finding {
	return Finding{Layer: "field-tests", Kind: KindSpeedtest, Carrier: carrier, Signal: s, Date: d, Count: n}
}
func claim(id, carrier string, tech Tech, s Signal) Finding {
	return Finding{Layer: id, Kind: KindClaim, Carrier: carrier, Tech: tech, Signal: s, Date: tClaim,
		Detail: carrier + " claims " + string(tech)}
}

// TestCombine checks each clause of the rule with a case that only that
// clause decides.
func TestCombine(t *testing.T) {
	type dispute struct {
		claim string
		by    int // findings that contradict it
		text  string
	}
	cases := []struct {
		name     string
		findings []Finding
		verdict  Verdict
		basis    Class
		disputes []dispute
	}{
		{name: "nothing: unknown", verdict: VerdictUnknown},
		{name: "1: a finding that says nothing never decides",
			findings: []Finding{ookla(SignalUnknown, tWeek, 0), podes(SignalNone, tCensus)},
			verdict:  VerdictNone, basis: ClassReported},
		{name: "1: only findings that say nothing: unknown",
			findings: []Finding{ookla(SignalUnknown, tWeek, 0)}, verdict: VerdictUnknown},
		{name: "2: measured beats a newer report",
			findings: []Finding{podes(SignalStrong, tToday), ookla(SignalNone, tWeek, 12)},
			verdict:  VerdictNone, basis: ClassMeasured},
		{name: "2: jangkau's probes are measured",
			findings: []Finding{podes(SignalNone, tToday), probes(SignalStrong, tWeek)},
			verdict:  VerdictCovered, basis: ClassMeasured},
		{name: "2: reported beats a newer claim",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalStrong), podes(SignalNone, tCensus)},
			verdict:  VerdictNone, basis: ClassReported},
		{name: "2: a claim alone decides",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalStrong)},
			verdict:  VerdictCovered, basis: ClassClaimed},
		{name: "3: within a class the newest decides",
			findings: []Finding{ookla(SignalStrong, tWeek, 40), survey("XL", SignalNone, tToday, 2)},
			verdict:  VerdictNone, basis: ClassMeasured,
			disputes: nil},
		{name: "3: within a class the newest decides, whatever the order",
			findings: []Finding{survey("XL", SignalNone, tWeek, 2), ookla(SignalWeak, tToday, 40)},
			verdict:  VerdictWeak, basis: ClassMeasured},
		{name: "3: a tie goes to the worse signal",
			findings: []Finding{probes(SignalStrong, tToday), speedtests("", SignalWeak, tToday, 3)},
			verdict:  VerdictWeak, basis: ClassMeasured},
		{name: "3: a tie goes to the worse signal, whichever sorts first",
			findings: []Finding{probes(SignalWeak, tToday), ookla(SignalStrong, tToday, 9)},
			verdict:  VerdictWeak, basis: ClassMeasured},
		{name: "4: strong is covered", findings: []Finding{probes(SignalStrong, tToday)},
			verdict: VerdictCovered, basis: ClassMeasured},
		{name: "4: weak is weak", findings: []Finding{probes(SignalWeak, tToday)},
			verdict: VerdictWeak, basis: ClassMeasured},
		{name: "4: none is none", findings: []Finding{probes(SignalNone, tToday)},
			verdict: VerdictNone, basis: ClassMeasured},
		{name: "5: survey passes of the claimant dispute its claim",
			findings: []Finding{podes(SignalNone, tCensus), ookla(SignalUnknown, tWeek, 0),
				claim("claim-xl", "XL", "4G", SignalStrong), survey("XL", SignalNone, tToday, 3)},
			verdict: VerdictNone, basis: ClassMeasured,
			disputes: []dispute{{"claim-xl", 1, "XL claims 4G: disputed by 3 survey passes"}}},
		{name: "5: measurements naming no carrier dispute, their counts add up by kind",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalStrong), ookla(SignalNone, tWeek, 7),
				probes(SignalNone, tToday), survey("xl", SignalNone, tWeek, 1), survey("", SignalNone, tToday, 2)},
			verdict: VerdictNone, basis: ClassMeasured,
			disputes: []dispute{{"claim-xl", 4, "XL claims 4G: disputed by 1 probe, 3 survey passes, 7 Ookla tests"}}},
		{name: "5: another carrier's measurements do not dispute",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalStrong), survey("Telkomsel", SignalNone, tToday, 3),
				speedtests("Indosat", SignalWeak, tToday, 2)},
			verdict: VerdictNone, basis: ClassMeasured},
		{name: "5: measured weak disputes a claimed strong",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalStrong), speedtests("XL", SignalWeak, tWeek, 5)},
			verdict:  VerdictWeak, basis: ClassMeasured,
			disputes: []dispute{{"claim-xl", 1, "XL claims 4G: disputed by 5 speed tests"}}},
		{name: "5: measured weak does not dispute a claimed weak",
			findings: []Finding{claim("claim-xl", "XL", "2G", SignalWeak), speedtests("XL", SignalWeak, tWeek, 5)},
			verdict:  VerdictWeak, basis: ClassMeasured},
		{name: "5: measured none disputes a claimed weak",
			findings: []Finding{claim("claim-xl", "XL", "2G", SignalWeak), speedtests("XL", SignalNone, tWeek, 1)},
			verdict:  VerdictNone, basis: ClassMeasured,
			disputes: []dispute{{"claim-xl", 1, "XL claims 2G: disputed by 1 speed test"}}},
		{name: "5: measured strong does not dispute",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalStrong), survey("XL", SignalStrong, tToday, 3)},
			verdict:  VerdictCovered, basis: ClassMeasured},
		{name: "5: a report does not dispute",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalStrong), podes(SignalNone, tCensus)},
			verdict:  VerdictNone, basis: ClassReported},
		{name: "5: a claim of no coverage is not disputed",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalNone), survey("XL", SignalNone, tToday, 3)},
			verdict:  VerdictNone, basis: ClassMeasured},
		{name: "5: each claim is judged on its own",
			findings: []Finding{claim("claim-xl", "XL", "4G", SignalStrong), claim("claim-tsel", "Telkomsel", "4G", SignalStrong),
				survey("XL", SignalNone, tToday, 2)},
			verdict: VerdictNone, basis: ClassMeasured,
			disputes: []dispute{{"claim-xl", 1, "XL claims 4G: disputed by 2 survey passes"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.findings)
			s := Combine(tc.findings, tNow)
			if !slices.EqualFunc(in, tc.findings, func(a, b Finding) bool { return a == b }) {
				t.Error("Combine changed its argument")
			}
			if s.Verdict != tc.verdict || s.Basis != tc.basis {
				t.Errorf("verdict %q basis %q, want %q basis %q", s.Verdict, s.Basis, tc.verdict, tc.basis)
			}
			if len(s.Findings) != len(tc.findings) {
				t.Errorf("%d findings, want all %d", len(s.Findings), len(tc.findings))
			}
			if len(s.Disputes) != len(tc.disputes) {
				t.Fatalf("disputes %+v, want %d", s.Disputes, len(tc.disputes))
			}
			for i, want := range tc.disputes {
				d := s.Disputes[i]
				if d.Claim != want.claim || len(d.By) != want.by {
					t.Errorf("dispute %d: claim %q by %d findings, want %q by %d", i, d.Claim, len(d.By), want.claim, want.by)
				}
				for _, f := range d.By {
					if f.Class != ClassMeasured {
						t.Errorf("dispute %d by a %s finding (%s)", i, f.Class, f.Layer)
					}
				}
				if got := d.Text(); got != want.text {
					t.Errorf("dispute %d says %q, want %q", i, got, want.text)
				}
				if !strings.Contains(s.Text(), want.text) {
					t.Errorf("summary %q does not say %q", s.Text(), want.text)
				}
			}
			if s.Disputed() != (len(tc.disputes) > 0) {
				t.Errorf("Disputed() = %v with %d disputes", s.Disputed(), len(s.Disputes))
			}
		})
	}
}

// TestCombineOrdersAndAges: strongest class first, newest first, with the
// age from now.
func TestCombineOrdersAndAges(t *testing.T) {
	s := Combine([]Finding{claim("claim-xl", "XL", "4G", SignalStrong), podes(SignalNone, tCensus),
		ookla(SignalWeak, tWeek, 3), probes(SignalStrong, tToday)}, tNow)
	var layers []string
	for _, f := range s.Findings {
		layers = append(layers, f.Layer)
	}
	if want := []string{LayerProbes, "ookla-mobile", "podes-2024", "claim-xl"}; !slices.Equal(layers, want) {
		t.Errorf("order %v, want %v", layers, want)
	}
	if got := s.Findings[1].Age; got != 7*24*time.Hour {
		t.Errorf("the Ookla finding's age is %s, want 168h", got)
	}
}
