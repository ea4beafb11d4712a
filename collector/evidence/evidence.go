// Package evidence holds what other sources say about coverage, beside
// what jangkau's probes measure: open data (Ookla's performance tiles),
// the village census (BPS Podes), carriers' declared coverage and field or
// crowd speed tests. Each imported file or submission is a Layer with its
// provenance (source, licence, date, method); its rows are Observations,
// located by desa code, by quadkey or by point.
//
// The rule that combines them with the probes' measured status is in
// verdict.go; the layers are kept by a Store.
package evidence

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/paulmach/orb"
)

// Kind is the kind of source a layer comes from.
type Kind string

// Kinds of layers.
const (
	// KindOokla: Ookla's open performance tiles, one row per zoom-16
	// quadkey (avg_d_kbps, avg_u_kbps, avg_lat_ms, tests, devices), fixed
	// or mobile, quarterly.
	KindOokla Kind = "ookla"
	// KindPodes: the village census (BPS Podes), one row per desa: the
	// strongest mobile signal and the best technology.
	KindPodes Kind = "podes"
	// KindClaim: a carrier's declared coverage, polygons per technology,
	// submitted by a partner with the submit scope.
	KindClaim Kind = "claim"
	// KindSpeedtest: crowd or field speed tests, one row per point
	// (time, lat, lon, carrier, download, upload, latency).
	KindSpeedtest Kind = "speedtest"
)

// Kinds lists every kind, in the order views show them.
var Kinds = []Kind{KindPodes, KindOokla, KindSpeedtest, KindClaim}

// Valid says whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Signal is how usable a source says the signal is. The order matters:
// a larger value is a better signal.
type Signal int

// Signals, worst first.
const (
	SignalUnknown Signal = iota // the source says nothing usable
	SignalNone                  // no signal / no usable internet
	SignalWeak                  // a signal, but weak or slow
	SignalStrong                // a strong, usable signal
)

var signalNames = [...]string{"unknown", "none", "weak", "strong"}

func (s Signal) String() string {
	if s < 0 || int(s) >= len(signalNames) {
		return fmt.Sprintf("Signal(%d)", int(s))
	}
	return signalNames[s]
}

// ParseSignal reads a Signal's name, as String writes it.
func ParseSignal(name string) (Signal, error) {
	for i, n := range signalNames {
		if n == name {
			return Signal(i), nil
		}
	}
	return SignalUnknown, fmt.Errorf("signal %q is not one of unknown, none, weak, strong", name)
}

// MarshalText writes the signal's name.
func (s Signal) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a signal's name.
func (s *Signal) UnmarshalText(b []byte) error {
	v, err := ParseSignal(string(b))
	*s = v
	return err
}

// Tech is a mobile technology: "5G", "4G", "3G", "2G", or "" when the
// source does not say.
type Tech string

// Technologies, best first.
var Techs = []Tech{"5G", "4G", "3G", "2G"}

// Layer is one imported data set or one submission, with its provenance.
type Layer struct {
	// ID names the layer in URLs and exports: 1-64 of a-z 0-9 . _ -
	// (ValidID), e.g. "ookla-mobile-2024q3", "podes-2024".
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Title is for people: "Ookla mobile performance, 2024 Q3".
	Title string `json:"title"`
	// Source is who published or collected it: "Ookla", "BPS (Podes
	// 2024)", a carrier's name, "Diskominfo Banten field survey".
	Source  string `json:"source"`
	Licence string `json:"licence"`
	// Date is when the data describes (a quarter's first day, a census
	// date, a claim's as-of date); age is counted from it.
	Date time.Time `json:"date"`
	// Method says how the data was collected.
	Method string `json:"method,omitempty"`
	// Carrier: the carrier a claim or a carrier-specific layer is about.
	Carrier string `json:"carrier,omitempty"`
	// Network: "fixed" or "mobile" for Ookla layers.
	Network string `json:"network,omitempty"`
	// Submitter is the partner that submitted a claim, or the viewer that
	// imported a file.
	Submitter string `json:"submitter,omitempty"`
	// Version counts the versions of a layer ID: a new import or
	// submission under the same ID is the next version; views use the
	// newest, the older ones stay readable.
	Version int `json:"version"`
	// Imported is the collector's clock when the layer was stored.
	Imported time.Time `json:"imported"`
	// Rows is how many observations the layer holds.
	Rows int `json:"rows"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidID says whether id may name a layer.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Observation is one row of a layer. Which fields are set depends on the
// layer's kind; the location is a desa code (Podes), a quadkey (Ookla), a
// point (speed tests) or polygons (claims).
type Observation struct {
	// Line is the row's line in the imported file (1 is the header of a
	// CSV), or the feature's index in a GeoJSON submission: what errors
	// and exports point back to.
	Line int `json:"line"`

	Region  string  `json:"region,omitempty"`  // desa code (Podes)
	Quadkey string  `json:"quadkey,omitempty"` // zoom-16 tile (Ookla)
	Lat     float64 `json:"lat,omitempty"`     // point (speed tests)
	Lon     float64 `json:"lon,omitempty"`
	// Area is a claim's polygons, WGS84 lon/lat.
	Area orb.MultiPolygon `json:"-"`

	// Time of a speed test; zero for the others (their layer's Date).
	Time time.Time `json:"time,omitzero"`

	Signal  Signal `json:"signal"`
	Tech    Tech   `json:"tech,omitempty"`
	Carrier string `json:"carrier,omitempty"`

	// Measured speeds and latency (Ookla averages, speed tests); 0 when
	// the source does not give them.
	DownKbps  float64 `json:"down_kbps,omitempty"`
	UpKbps    float64 `json:"up_kbps,omitempty"`
	LatencyMS float64 `json:"latency_ms,omitempty"`
	// Tests and Devices behind an Ookla tile's averages.
	Tests   int `json:"tests,omitempty"`
	Devices int `json:"devices,omitempty"`
}

// HasPoint says whether the observation is located by a point.
func (o *Observation) HasPoint() bool { return o.Lat != 0 || o.Lon != 0 }

// ErrNotFound is returned for a layer ID or version a Store does not hold.
var ErrNotFound = errors.New("evidence: no such layer")

// Store keeps layers. Implementations must be safe for concurrent use.
type Store interface {
	// Put stores a layer and its observations as one new version of
	// l.ID, atomically: after a failure nothing of it is visible. It
	// fills l.Version (previous newest + 1), l.Imported (when zero) and
	// l.Rows, and returns the layer as stored.
	Put(ctx context.Context, l Layer, obs []Observation) (Layer, error)
	// Layers returns the newest version of every layer, by ID.
	Layers(ctx context.Context) ([]Layer, error)
	// Versions returns every stored version of a layer, oldest first, or
	// ErrNotFound.
	Versions(ctx context.Context, id string) ([]Layer, error)
	// Observations calls fn for every observation of the layer's version
	// (0: the newest), in the order they were put, and stops at fn's first
	// error. ErrNotFound for an unknown ID or version.
	Observations(ctx context.Context, id string, version int, fn func(*Observation) error) error
	// Close releases the store.
	Close() error
}
