package evidence

import "time"

// Class is how a piece of evidence came to be, which decides what beats
// what in the combined verdict.
type Class string

// Classes, strongest first.
const (
	// ClassMeasured: a measurement at the place — jangkau's own probes and
	// survey passes, speed tests, Ookla's tile averages.
	ClassMeasured Class = "measured"
	// ClassReported: what someone reported about the place without a
	// measurement there — the village census (Podes).
	ClassReported Class = "reported"
	// ClassClaimed: what a carrier declares it covers.
	ClassClaimed Class = "claimed"
)

// ClassOf is the class of a layer kind's evidence.
func ClassOf(k Kind) Class {
	switch k {
	case KindOokla, KindSpeedtest:
		return ClassMeasured
	case KindPodes:
		return ClassReported
	default:
		return ClassClaimed
	}
}

// Finding is what one source says about one region or tile.
type Finding struct {
	// Layer is the layer's ID; "probes" for jangkau's own measurements.
	Layer   string `json:"layer"`
	Kind    Kind   `json:"kind,omitempty"` // "" for jangkau's own measurements
	Class   Class  `json:"class"`
	Source  string `json:"source"`
	Carrier string `json:"carrier,omitempty"`
	Signal  Signal `json:"signal"`
	Tech    Tech   `json:"tech,omitempty"`
	// Date is when the evidence describes (the layer's date, or the
	// newest measurement's time); Age is the view's time minus Date.
	Date time.Time     `json:"date"`
	Age  time.Duration `json:"-"`
	// Count is how many observations or passes back it (speed tests,
	// Ookla tests, survey passes).
	Count int `json:"count"`
	// Detail is one line for people: "3 tests, 12.3 Mbps down".
	Detail string `json:"detail"`
}

// Verdict is the combined judgement of a region or tile.
type Verdict string

// Verdicts.
const (
	VerdictCovered Verdict = "covered" // a usable signal
	VerdictWeak    Verdict = "weak"    // a signal, weak or slow
	VerdictNone    Verdict = "none"    // no usable signal: a blank spot
	VerdictUnknown Verdict = "unknown" // no evidence at all
)

// Dispute is a carrier's claim that measurements at the place contradict.
type Dispute struct {
	Claim   string `json:"claim"` // the claim layer's ID
	Carrier string `json:"carrier"`
	Tech    Tech   `json:"tech"`
	// By are the findings that contradict it.
	By []Finding `json:"by"`
}

// Summary is everything known about one region or tile: each source's
// finding, and the verdict the rule in verdict.go draws from them.
type Summary struct {
	Region   string    `json:"region,omitempty"`
	Quadkey  string    `json:"quadkey,omitempty"`
	Findings []Finding `json:"findings"`
	Verdict  Verdict   `json:"verdict"`
	// Basis is the class of the findings the verdict rests on; "" for
	// VerdictUnknown.
	Basis    Class     `json:"basis,omitempty"`
	Disputes []Dispute `json:"disputes,omitempty"`
}

// Disputed says whether a claim about the place is disputed.
func (s *Summary) Disputed() bool { return len(s.Disputes) > 0 }
