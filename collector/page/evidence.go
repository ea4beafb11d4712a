package page

import (
	"fmt"
	"sort"
	"strings"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/geo/region"
)

// The evidence switch: ?evidence= "" (measured only, the map as it always
// was), "all" (each desa coloured by its combined verdict, lighter the
// weaker its basis) or "disputed" (only the desa where measurements
// contradict a carrier's claim). Every row of the desa level and every
// region page says in words what each source says; the disputed claims
// are listed under the map.

// Evidence modes, as the query parameter spells them.
const (
	modeMeasured = ""
	modeAll      = "all"
	modeDisputed = "disputed"
)

var evidenceModes = []string{modeMeasured, modeAll, modeDisputed}

// validMode says whether m is one of evidenceModes.
func validMode(m string) bool {
	for _, v := range evidenceModes {
		if m == v {
			return true
		}
	}
	return false
}

// basisOpacity is how opaque the evidence map draws a desa: measured
// evidence solid, only reported lighter, only claimed lightest. The
// legend and each desa's text say the same in words.
var basisOpacity = map[evidence.Class]float64{
	evidence.ClassMeasured: 1, evidence.ClassReported: 0.55, evidence.ClassClaimed: 0.25,
}

// verdictColour is the colour of a verdict: the measured status it
// corresponds to.
func verdictColour(v evidence.Verdict) string {
	switch v {
	case evidence.VerdictCovered:
		return coverage.StatusGood.Colour()
	case evidence.VerdictWeak:
		return coverage.StatusDegraded.Colour()
	case evidence.VerdictNone:
		return coverage.StatusBlank.Colour()
	}
	return coverage.StatusUnmeasured.Colour()
}

// hasEvidence says whether a summary rests on anything.
func hasEvidence(s *evidence.Summary) bool {
	return s.Verdict != evidence.VerdictUnknown || s.Disputed()
}

// evidenceLegendEntry is one verdict or basis of the evidence legend.
type evidenceLegendEntry struct {
	Label, Colour string
	Opacity       float64
	Count         int
}

// disputeRow is one disputed claim in the list under the map.
type disputeRow struct {
	Code, Name, Link string
	Carrier, Tech    string
	Text             string
}

// evidenceData is what the page shows of the evidence.
type evidenceData struct {
	Mode     string
	W        evidenceWords
	Switch   []choice
	Shown    bool   // the page has evidence (the desa level, or a mode chosen)
	OnMap    bool   // the map is coloured by verdict (the desa level, a mode chosen)
	Head     string // "57 desa with evidence: ..."
	Legend   []evidenceLegendEntry
	Disputes []disputeRow
}

// tally counts desa by what their evidence rests on.
type tally struct{ with, measured, reported, claimed, disputed int }

func (t *tally) add(s *evidence.Summary) {
	if !hasEvidence(s) {
		return
	}
	t.with++
	switch s.Basis {
	case evidence.ClassMeasured:
		t.measured++
	case evidence.ClassReported:
		t.reported++
	case evidence.ClassClaimed:
		t.claimed++
	}
	if s.Disputed() {
		t.disputed++
	}
}

// text is the tally in words: "57 desa with evidence: 20 measured, 30
// only reported, 7 only claimed; 3 with disputed claims".
func (t tally) text(w evidenceWords, f format, desa string) string {
	return w.tally(f.int(int64(t.with)), desa, f.int(int64(t.measured)), f.int(int64(t.reported)),
		f.int(int64(t.claimed)), f.int(int64(t.disputed)))
}

// tallyWithin counts the desa of sums within code ("" for all).
func tallyWithin(sums map[string]*evidence.Summary, code string) tally {
	var t tally
	for c, s := range sums {
		if code == "" || region.Within(c, code) {
			t.add(s)
		}
	}
	return t
}

// summaryText is a desa's evidence in words: each finding, the disputed
// claims with what disputes them.
func summaryText(s *evidence.Summary, w evidenceWords, f format) string {
	if s == nil || len(s.Findings) == 0 {
		return w.Nothing
	}
	disputed := map[string]bool{}
	for _, d := range s.Disputes {
		disputed[d.Claim] = true
	}
	var parts []string
	for i := range s.Findings {
		fd := &s.Findings[i]
		if fd.Class == evidence.ClassClaimed && disputed[fd.Layer] {
			continue // said by its dispute
		}
		parts = append(parts, w.finding(fd, f))
	}
	for _, d := range s.Disputes {
		parts = append(parts, disputeText(d, w, f))
	}
	text := strings.Join(parts, "; ")
	if s.Verdict != evidence.VerdictUnknown {
		text = w.Verdict[s.Verdict] + " (" + w.Basis[s.Basis] + "): " + text
	} else {
		text = w.Nothing + ": " + text // e.g. what is absent: no Ookla tests
	}
	return text
}

// disputeText is "XL claims 4G: disputed by 3 survey passes".
func disputeText(d evidence.Dispute, w evidenceWords, f format) string {
	var order []string
	n := map[string]int{}
	for i := range d.By {
		u := w.unit(&d.By[i])
		if _, ok := n[u]; !ok {
			order = append(order, u)
		}
		n[u] += max(d.By[i].Count, 1)
	}
	by := make([]string, len(order))
	for i, u := range order {
		by[i] = w.count(f.int(int64(n[u])), u, n[u] != 1)
	}
	who := d.Carrier
	if who == "" {
		who = d.Claim
	}
	return w.claims(who, string(d.Tech)) + ": " + w.DisputedBy + " " + strings.Join(by, ", ")
}

// evidenceFor reads the desa summaries into a map by code.
func evidenceFor(sums []evidence.Summary) map[string]*evidence.Summary {
	m := make(map[string]*evidence.Summary, len(sums))
	for i := range sums {
		m[sums[i].Region] = &sums[i]
	}
	return m
}

// disputeRows lists every disputed claim of the desa within code ("" for
// all), by carrier, desa code and technology.
func disputeRows(sums map[string]*evidence.Summary, rs *region.Regions, code string, w evidenceWords, f format,
	link func(key, value string) string) []disputeRow {
	var out []disputeRow
	for c, s := range sums {
		if code != "" && !region.Within(c, code) {
			continue
		}
		for _, d := range s.Disputes {
			r := disputeRow{Code: c, Carrier: d.Carrier, Tech: string(d.Tech), Text: disputeText(d, w, f)}
			if reg := rs.Get(c); reg != nil {
				r.Name = reg.Name
			}
			if link != nil {
				r.Link = regionLink(link, c)
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Carrier != b.Carrier {
			return a.Carrier < b.Carrier
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Tech < b.Tech
	})
	return out
}

// evidenceWords are the evidence's words in one language.
type evidenceWords struct {
	Switch, Measured, All, Disputed   string // the switch
	Col, Head, Verdicts, Bases        string // the table's column, the section and legend heads
	DisputesHead, NoDisputes, Nothing string
	Caption, DisputedBy, DisputedMark string
	Verdict                           map[evidence.Verdict]string
	Basis                             map[evidence.Class]string
	signal                            map[evidence.Signal]string
	tally                             func(with, desa, measured, reported, claimed, disputed string) string
	count                             func(n, unit string, plural bool) string
	claims                            func(who, tech string) string
	finding                           func(fd *evidence.Finding, f format) string
	unit                              func(fd *evidence.Finding) string
}

var evidenceLabels = map[string]evidenceWords{
	"id": {
		Switch: "Bukti", Measured: "hanya terukur", All: "semua bukti", Disputed: "klaim dibantah",
		Col: "bukti", Head: "Bukti", Verdicts: "Kesimpulan dari semua bukti", Bases: "Dasar kesimpulan",
		DisputesHead: "Klaim operator yang dibantah", NoDisputes: "Tidak ada klaim operator yang dibantah pengukuran.",
		Nothing:    "tidak ada bukti",
		Caption:    "Warna: kesimpulan dari semua bukti per desa; warna penuh: terukur, lebih pucat: hanya dilaporkan, paling pucat: hanya diklaim.",
		DisputedBy: "dibantah oleh", DisputedMark: "dibantah",
		Verdict: map[evidence.Verdict]string{evidence.VerdictCovered: "ada sinyal", evidence.VerdictWeak: "sinyal lemah",
			evidence.VerdictNone: "tanpa sinyal", evidence.VerdictUnknown: "tanpa bukti"},
		Basis: map[evidence.Class]string{evidence.ClassMeasured: "terukur", evidence.ClassReported: "hanya dilaporkan",
			evidence.ClassClaimed: "hanya diklaim", "": "tanpa bukti"},
		signal: map[evidence.Signal]string{evidence.SignalNone: "tanpa sinyal", evidence.SignalWeak: "sinyal lemah",
			evidence.SignalStrong: "sinyal kuat", evidence.SignalUnknown: "sinyal tidak diketahui"},
		tally: func(with, desa, measured, reported, claimed, disputed string) string {
			return with + " " + desa + " dengan bukti: " + measured + " terukur, " + reported + " hanya dilaporkan, " +
				claimed + " hanya diklaim; " + disputed + " dengan klaim yang dibantah"
		},
		count:  func(n, unit string, _ bool) string { return n + " " + unit },
		claims: func(who, tech string) string { return strings.TrimSpace(who + " mengklaim " + tech) },
		unit: func(fd *evidence.Finding) string {
			switch {
			case fd.Layer == evidence.LayerSurvey:
				return "lintasan survei"
			case fd.Layer == evidence.LayerProbes:
				return "probe"
			case fd.Kind == evidence.KindSpeedtest:
				return "uji kecepatan"
			case fd.Kind == evidence.KindOokla:
				return "uji Ookla"
			case fd.Kind == evidence.KindPodes:
				return "baris sensus"
			}
			return "temuan"
		},
	},
	"en": {
		Switch: "Evidence", Measured: "measured only", All: "all evidence", Disputed: "disputed claims",
		Col: "evidence", Head: "Evidence", Verdicts: "Verdict of all evidence", Bases: "What the verdict rests on",
		DisputesHead: "Carriers' claims disputed", NoDisputes: "No carrier's claim is disputed by measurements.",
		Nothing:    "no evidence",
		Caption:    "Colour: the verdict of all evidence per desa; solid: measured, lighter: only reported, lightest: only claimed.",
		DisputedBy: "disputed by", DisputedMark: "disputed",
		Verdict: map[evidence.Verdict]string{evidence.VerdictCovered: "usable signal", evidence.VerdictWeak: "weak signal",
			evidence.VerdictNone: "no signal", evidence.VerdictUnknown: "no evidence"},
		Basis: map[evidence.Class]string{evidence.ClassMeasured: "measured", evidence.ClassReported: "only reported",
			evidence.ClassClaimed: "only claimed", "": "no evidence"},
		signal: map[evidence.Signal]string{evidence.SignalNone: "no signal", evidence.SignalWeak: "weak signal",
			evidence.SignalStrong: "strong signal", evidence.SignalUnknown: "signal unknown"},
		tally: func(with, desa, measured, reported, claimed, disputed string) string {
			return with + " " + desa + " with evidence: " + measured + " measured, " + reported + " only reported, " +
				claimed + " only claimed; " + disputed + " with disputed claims"
		},
		count: func(n, unit string, plural bool) string {
			if plural {
				unit += map[bool]string{true: "es", false: "s"}[strings.HasSuffix(unit, "pass")]
			}
			return n + " " + unit
		},
		claims: func(who, tech string) string {
			if tech == "" {
				return who + " claims coverage"
			}
			return who + " claims " + tech
		},
		unit: func(fd *evidence.Finding) string {
			switch {
			case fd.Layer == evidence.LayerSurvey:
				return "survey pass"
			case fd.Layer == evidence.LayerProbes:
				return "probe"
			case fd.Kind == evidence.KindSpeedtest:
				return "speed test"
			case fd.Kind == evidence.KindOokla:
				return "Ookla test"
			case fd.Kind == evidence.KindPodes:
				return "census row"
			}
			return "finding"
		},
	},
}

func init() {
	for lang, w := range evidenceLabels {
		w.finding = findingWords(lang, w)
		evidenceLabels[lang] = w
	}
}

// findingWords writes one finding in lang from its fields (the
// summaries' own Detail is English only).
func findingWords(lang string, w evidenceWords) func(fd *evidence.Finding, f format) string {
	id := lang == "id"
	per := map[bool]string{true: " menurut ", false: " per "}[id]
	return func(fd *evidence.Finding, f format) string {
		sig := w.signal[fd.Signal]
		n := w.count(f.int(int64(fd.Count)), w.unit(fd), fd.Count != 1)
		on := ""
		if fd.Carrier != "" {
			on = map[bool]string{true: " di ", false: " on "}[id] + fd.Carrier
		}
		switch {
		case fd.Layer == evidence.LayerProbes:
			return sig + map[bool]string{true: ", diukur probe jangkau", false: ", measured by jangkau's probes"}[id]
		case fd.Layer == evidence.LayerSurvey:
			return n + on + ": " + sig
		case fd.Kind == evidence.KindPodes:
			if fd.Signal == evidence.SignalUnknown {
				return map[bool]string{true: "sinyal tidak tercatat", false: "signal not recorded"}[id] + per + fd.Source
			}
			return strings.TrimSpace(sig+" "+string(fd.Tech)) + per + fd.Source
		case fd.Kind == evidence.KindOokla && fd.Count == 0:
			return map[bool]string{true: "tidak ada uji Ookla", false: "no Ookla tests"}[id]
		case fd.Kind == evidence.KindOokla, fd.Kind == evidence.KindSpeedtest:
			return n + on + ": " + sig + " (" + fd.Source + ")"
		case fd.Class == evidence.ClassClaimed:
			who := fd.Carrier
			if who == "" {
				who = fd.Source
			}
			return w.claims(who, string(fd.Tech))
		}
		return fmt.Sprintf("%s: %s", fd.Source, sig)
	}
}

// rowEvidence is a region's evidence in words: the desa's summary, or
// the count of the desa within a region above them.
func rowEvidence(c *coverage.RegionCell, v view, w evidenceWords, f format, t labels, deepest int) (string, bool) {
	if v.evidence == nil {
		return "", false
	}
	if c.Region.Level == deepest {
		sum := v.evidence[c.Region.Code]
		return summaryText(sum, w, f), sum != nil && sum.Disputed()
	}
	tl := tallyWithin(v.evidence, c.Region.Code)
	return tl.text(w, f, t.levelName(deepest)), tl.disputed > 0
}

// evidenceFigures are the evidence's head, legend and disputed claims of
// the view.
func evidenceFigures(v view, rs *region.Regions, w evidenceWords, f format, t labels, onMap bool,
	link func(key, value string) string) evidenceData {
	d := evidenceData{Mode: v.mode, W: w, Shown: v.evidence != nil, OnMap: onMap}
	if v.evidence == nil {
		return d
	}
	d.Head = tallyWithin(v.evidence, "").text(w, f, t.levelName(rs.Deepest())) + "."
	d.Disputes = disputeRows(v.evidence, rs, "", w, f, link)
	if !onMap {
		return d
	}
	verdicts := map[evidence.Verdict]int{}
	bases := map[evidence.Class]int{}
	for _, s := range v.evidence {
		verdicts[s.Verdict]++
		if s.Basis != "" {
			bases[s.Basis]++
		}
	}
	for _, vd := range []evidence.Verdict{evidence.VerdictCovered, evidence.VerdictWeak, evidence.VerdictNone, evidence.VerdictUnknown} {
		d.Legend = append(d.Legend, evidenceLegendEntry{Label: w.Verdict[vd], Colour: verdictColour(vd), Opacity: 1, Count: verdicts[vd]})
	}
	for _, b := range []evidence.Class{evidence.ClassMeasured, evidence.ClassReported, evidence.ClassClaimed} {
		d.Legend = append(d.Legend, evidenceLegendEntry{Label: w.Basis[b], Colour: verdictColour(evidence.VerdictNone),
			Opacity: basisOpacity[b], Count: bases[b]})
	}
	return d
}

// evidenceFill colours a desa on the evidence map: its verdict's colour,
// as opaque as its basis is strong; on the disputed map, the desa
// without a disputed claim stay pale grey.
func evidenceFill(sum *evidence.Summary, mode string) (string, float64) {
	if sum == nil || (mode == modeDisputed && !sum.Disputed()) {
		return coverage.StatusUnmeasured.Colour(), unmeasuredOpacity
	}
	if sum.Basis == "" {
		return verdictColour(evidence.VerdictUnknown), 1
	}
	return verdictColour(sum.Verdict), basisOpacity[sum.Basis]
}
