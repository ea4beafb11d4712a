package geo

import (
	"fmt"
	"time"
)

// Status is the verdict on a cell (a region or a tile) over a window.
type Status string

// The statuses, from best to least known. Their meaning and the default
// thresholds are written down in the README ("Status rules").
const (
	StatusGood       Status = "good"
	StatusDegraded   Status = "degraded"
	StatusBlank      Status = "blank"
	StatusSilent     Status = "silent"
	StatusUnmeasured Status = "unmeasured"
)

// Statuses lists every status in legend order.
var Statuses = []Status{StatusGood, StatusDegraded, StatusBlank, StatusSilent, StatusUnmeasured}

// Colour is the fill used for a status on every map jangkau draws, chosen to
// stay apart for the common forms of colour blindness (Okabe–Ito palette).
func (s Status) Colour() string {
	switch s {
	case StatusGood:
		return "#009E73"
	case StatusDegraded:
		return "#E69F00"
	case StatusBlank:
		return "#D55E00"
	case StatusSilent:
		return "#5A3E8C"
	default:
		return "#C8C8C8"
	}
}

// Thresholds decide a cell's status. The zero value is not useful: start
// from DefaultThresholds.
type Thresholds struct {
	// MinSamples: fewer results than this in the window and the cell is
	// unmeasured: too little to say anything.
	MinSamples int `yaml:"min_samples"`
	// BlankBelow: availability (share of successful checks) below this and
	// the cell is blank: most attempts to reach anything fail.
	BlankBelow float64 `yaml:"blank_below"`
	// DegradedBelow: availability below this (and not blank) is degraded.
	DegradedBelow float64 `yaml:"degraded_below"`
	// DegradedLatencyP95: a 95th percentile of successful check durations
	// above this is degraded even when every check succeeds.
	DegradedLatencyP95 time.Duration `yaml:"degraded_latency_p95"`
	// SilentAfter: when no probe of the cell has reported for longer than
	// this, the cell is silent: the live sign of a cut link.
	SilentAfter time.Duration `yaml:"silent_after"`
}

// DefaultThresholds are defended in the README.
var DefaultThresholds = Thresholds{
	MinSamples:         3,
	BlankBelow:         0.5,
	DegradedBelow:      0.95,
	DegradedLatencyP95: time.Second,
	SilentAfter:        5 * time.Minute,
}

// Validate checks the thresholds against each other.
func (t Thresholds) Validate() error {
	switch {
	case t.MinSamples < 1:
		return fmt.Errorf("min_samples (%d) must be at least 1", t.MinSamples)
	case t.BlankBelow < 0 || t.BlankBelow > 1:
		return fmt.Errorf("blank_below (%g) must be within 0..1", t.BlankBelow)
	case t.DegradedBelow < t.BlankBelow || t.DegradedBelow > 1:
		return fmt.Errorf("degraded_below (%g) must be within blank_below (%g)..1", t.DegradedBelow, t.BlankBelow)
	case t.DegradedLatencyP95 <= 0:
		return fmt.Errorf("degraded_latency_p95 (%s) must be positive", t.DegradedLatencyP95)
	case t.SilentAfter <= 0:
		return fmt.Errorf("silent_after (%s) must be positive", t.SilentAfter)
	}
	return nil
}

// CellStats are the figures of one cell over a window.
type CellStats struct {
	Probes       int       // probes placed in the cell
	Samples      int       // results in the window
	Availability float64   // successful share of Samples
	LatencyP95   float64   // milliseconds, over successful results
	LastSeen     time.Time // latest report of any of its probes; zero if none ever
}

// Classify gives the status of a cell at now.
func (t Thresholds) Classify(s CellStats, now time.Time) Status {
	switch {
	case s.Probes == 0 || s.LastSeen.IsZero():
		return StatusUnmeasured
	case now.Sub(s.LastSeen) > t.SilentAfter:
		return StatusSilent
	case s.Samples < t.MinSamples:
		return StatusUnmeasured
	case s.Availability < t.BlankBelow:
		return StatusBlank
	case s.Availability < t.DegradedBelow,
		s.LatencyP95 > float64(t.DegradedLatencyP95)/float64(time.Millisecond):
		return StatusDegraded
	}
	return StatusGood
}
