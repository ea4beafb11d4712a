package coverage

import (
	"fmt"
	"math"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Status is the verdict on a cell (a region or a tile) over a window.
type Status string

// The statuses, from best to least known. Their meaning and the default
// thresholds are written down in docs/status.md.
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
// stay apart for the common forms of colour blindness (Okabe–Ito palette):
// blank is the alarm colour, vermillion; degraded is yellow, a hue and a
// lightness apart from it (Okabe–Ito's orange, its first choice, reads as
// the same orange as blank, for everyone).
func (s Status) Colour() string {
	switch s {
	case StatusGood:
		return "#009E73"
	case StatusDegraded:
		return "#F0E442"
	case StatusBlank:
		return "#D55E00"
	case StatusSilent:
		return "#5A3E8C"
	default:
		return "#C8C8C8"
	}
}

// KindLatency is a latency bound per check kind. In YAML it is either one
// duration for every kind or a mapping such as {http: 1s, icmp: 300ms}.
type KindLatency map[string]time.Duration

// UnmarshalYAML accepts a scalar duration (every kind) or a mapping.
func (k *KindLatency) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var d time.Duration
		if err := n.Decode(&d); err != nil {
			return err
		}
		out := KindLatency{}
		for _, kind := range checkKinds {
			out[kind] = d
		}
		*k = out
		return nil
	}
	var m map[string]time.Duration
	if err := n.Decode(&m); err != nil {
		return err
	}
	out := copyLatency(*k)
	for kind, d := range m {
		out[kind] = d
	}
	*k = out
	return nil
}

func copyLatency(k KindLatency) KindLatency {
	out := KindLatency{}
	for kind, d := range k {
		out[kind] = d
	}
	return out
}

var checkKinds = []string{"http", "tcp", "icmp", "dns"}

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
	// DegradedLatencyP95 per check kind: a 95th percentile of successful
	// durations above it is degraded even when every check succeeds.
	DegradedLatencyP95 KindLatency `yaml:"degraded_latency_p95"`
	// DegradedLoss and BlankLoss bound the mean packet loss of icmp checks.
	DegradedLoss float64 `yaml:"degraded_loss"`
	BlankLoss    float64 `yaml:"blank_loss"`
	// SilentAfter: when no probe of the cell has reported for longer than
	// this, the cell is silent: the live sign of a cut link.
	SilentAfter time.Duration `yaml:"silent_after"`
	// OutageShare and OutageMinRegions tell a service outage from a
	// district's: an e-service that fails from at least this share of the
	// (at least OutageMinRegions) regions that check it in the same minute
	// is down at its end, and those results do not count against regions.
	OutageShare      float64 `yaml:"outage_share"`
	OutageMinRegions int     `yaml:"outage_min_regions"`
}

// DefaultThresholds are defended in docs/status.md.
var DefaultThresholds = Thresholds{
	MinSamples:    3,
	BlankBelow:    0.5,
	DegradedBelow: 0.95,
	DegradedLatencyP95: KindLatency{
		"http": time.Second, "tcp": 500 * time.Millisecond,
		"icmp": 300 * time.Millisecond, "dns": 500 * time.Millisecond,
	},
	DegradedLoss:     0.05,
	BlankLoss:        0.5,
	SilentAfter:      5 * time.Minute,
	OutageShare:      0.6,
	OutageMinRegions: 3,
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
	case t.DegradedLoss < 0 || t.DegradedLoss > t.BlankLoss || t.BlankLoss > 1:
		return fmt.Errorf("degraded_loss (%g) and blank_loss (%g) must satisfy 0 <= degraded_loss <= blank_loss <= 1", t.DegradedLoss, t.BlankLoss)
	case t.SilentAfter <= 0:
		return fmt.Errorf("silent_after (%s) must be positive", t.SilentAfter)
	case t.OutageShare <= 0 || t.OutageShare > 1:
		return fmt.Errorf("outage_share (%g) must be within 0..1 and above 0", t.OutageShare)
	case t.OutageMinRegions < 2:
		return fmt.Errorf("outage_min_regions (%d) must be at least 2", t.OutageMinRegions)
	}
	for kind, d := range t.DegradedLatencyP95 {
		if !slices.Contains(checkKinds, kind) {
			return fmt.Errorf("degraded_latency_p95.%s: not one of %v", kind, checkKinds)
		}
		if d <= 0 {
			return fmt.Errorf("degraded_latency_p95.%s (%s) must be positive", kind, d)
		}
	}
	return nil
}

// CellStats are the figures of one cell over a window.
type CellStats struct {
	Probes       int     // probes placed in the cell
	Samples      int     // results in the window
	Availability float64 // successful share of Samples
	// LatencyP95 per check kind, milliseconds over successful results.
	LatencyP95 map[string]float64
	// Loss is the mean icmp packet loss, NaN without icmp results.
	Loss float64
	// LastSeen is the latest report of any of its probes; zero if none
	// ever. Live says whether the window ends now: only then can a cell be
	// silent; a past window is judged by its results alone.
	LastSeen time.Time
	Live     bool
}

// Classify gives the status of a cell at now.
func (t Thresholds) Classify(s CellStats, now time.Time) Status {
	switch {
	case s.Live && s.Probes > 0 && !s.LastSeen.IsZero() && now.Sub(s.LastSeen) > t.SilentAfter:
		return StatusSilent
	case s.Samples == 0 && (s.Probes == 0 || s.LastSeen.IsZero()):
		return StatusUnmeasured
	case s.Samples < t.MinSamples:
		return StatusUnmeasured
	case s.Availability < t.BlankBelow, !math.IsNaN(s.Loss) && s.Loss >= t.BlankLoss:
		return StatusBlank
	case s.Availability < t.DegradedBelow, !math.IsNaN(s.Loss) && s.Loss >= t.DegradedLoss:
		return StatusDegraded
	}
	for kind, p95 := range s.LatencyP95 {
		if limit, ok := t.DegradedLatencyP95[kind]; ok && p95 > float64(limit)/float64(time.Millisecond) {
			return StatusDegraded
		}
	}
	return StatusGood
}
