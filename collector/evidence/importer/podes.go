package importer

import (
	"strings"

	"github.com/jangkau/jangkau/collector/evidence"
)

// Column names of the Podes file. The plain names come first; R1005C and
// R1005D are the Podes questionnaire's items for the mobile signal in
// most of the desa's area and for its mobile internet signal, as the
// microdata names its columns (docs/evidence.md tells how far that is
// checked). Their values must be labels, not the questionnaire's numeric
// codes, which differ between editions.
var (
	podesCodeColumns   = []string{"kode_desa", "kode", "kode_wilayah", "iddesa", "desa_code"}
	podesSignalColumns = []string{"sinyal", "signal", "r1005c"}
	podesTechColumns   = []string{"teknologi", "technology", "tech", "r1005d"}
)

// podesParser reads the census's per-desa signal: a desa code, its
// strongest mobile signal and its best technology.
type podesParser struct {
	code, signal, tech int
	// names of the columns as the file's header has them, for errors
	codeName, signalName, techName string
	seen                           map[string]int
}

func newPodesParser() *podesParser { return &podesParser{seen: map[string]int{}} }

func (p *podesParser) columns(h *header, errs *Errors) {
	p.code = h.require(errs, podesCodeColumns...)
	p.signal = h.require(errs, podesSignalColumns...)
	p.tech = h.find(podesTechColumns...)
	p.codeName, p.signalName, p.techName = h.name(p.code), h.name(p.signal), h.name(p.tech)
}

func (p *podesParser) row(line int, rec []string, errs *Errors) (evidence.Observation, bool) {
	before := errs.Total
	var o evidence.Observation
	raw := field(rec, p.code)
	code, msg := DesaCode(raw)
	if msg != "" {
		errs.add(line, p.codeName, raw, "%s", msg)
	} else if first, dup := p.seen[code]; dup {
		errs.add(line, p.codeName, raw, "desa repeated (first on line %d); expected one row per desa", first)
	} else {
		p.seen[code] = line
		o.Region = code
	}
	s := field(rec, p.signal)
	sig, ok := podesSignal(s)
	if !ok {
		errs.add(line, p.signalName, s, "expected kuat (strong), lemah (weak) or tidak ada sinyal (none); sangat kuat counts as strong. Numeric codes differ between Podes editions: recode them to labels")
	}
	o.Signal = sig
	if p.tech >= 0 {
		t := field(rec, p.tech)
		tech, ok := parseTech(t)
		if !ok {
			errs.add(line, p.techName, t, "expected 4G (or 4G/LTE, 5G/4G/LTE), 3G (3G/H/H+/EVDO), 2G (2G/EDGE/GPRS), tidak ada sinyal or empty")
		}
		o.Tech = tech
	}
	return o, errs.Total == before
}

// DesaCode normalises a desa code to the dotted form of the region files
// (36.01.01.2001): it accepts that form or its 10 digits without dots
// (3601012001). It returns a message saying what was expected otherwise.
// Kemendagri's codes are 2.2.2.4 digits; BPS's own codes (2.2.3.3, e.g.
// 3601010001) look the same undotted and need BPS's crosswalk first: a
// code the region file does not hold is counted as outside.
func DesaCode(s string) (string, string) {
	const want = "expected a desa code of 10 digits (3601012001) or dotted 36.01.01.2001"
	if s == "" {
		return "", "empty; " + want
	}
	if strings.Contains(s, ".") {
		segs := strings.Split(s, ".")
		if len(segs) != 4 || len(segs[0]) != 2 || len(segs[1]) != 2 || len(segs[2]) != 2 || len(segs[3]) != 4 || !digits(strings.Join(segs, "")) {
			return "", "not a desa code; " + want
		}
		return s, ""
	}
	if len(s) != 10 || !digits(s) {
		return "", "not a desa code; " + want
	}
	return s[0:2] + "." + s[2:4] + "." + s[4:6] + "." + s[6:10], ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// podesSignal reads a signal label, English or the census's Indonesian.
func podesSignal(s string) (evidence.Signal, bool) {
	k := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	k = strings.TrimPrefix(k, "sinyal ")
	switch k {
	case "strong", "kuat", "sangat kuat":
		return evidence.SignalStrong, true
	case "weak", "lemah":
		return evidence.SignalWeak, true
	case "none", "tidak ada", "tidak ada sinyal", "no signal":
		return evidence.SignalNone, true
	}
	return evidence.SignalUnknown, false
}

// parseTech reads a technology label. A combined category ("5G/4G/LTE",
// "3G/H/H+/EVDO") is its lowest technology, since any of them may be
// meant; no signal, like an empty field, is no technology ("").
func parseTech(s string) (evidence.Tech, bool) {
	k := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	switch k {
	case "", "none", "tidak ada", "tidak ada sinyal", "no signal", "-":
		return "", true
	}
	rank := map[string]int{"5g": 5, "4g": 4, "lte": 4, "4g lte": 4, "3g": 3, "h": 3, "h+": 3, "hspa": 3, "evdo": 3, "umts": 3,
		"2g": 2, "2.5g": 2, "e": 2, "edge": 2, "gprs": 2, "gsm": 2}
	low := 0
	for _, part := range strings.Split(k, "/") {
		r, known := rank[strings.TrimSpace(part)]
		if !known {
			return "", false
		}
		if low == 0 || r < low {
			low = r
		}
	}
	return map[int]evidence.Tech{5: "5G", 4: "4G", 3: "3G", 2: "2G"}[low], true
}
