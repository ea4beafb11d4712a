package wire

import "time"

// Kinds of check. The collector accepts results of these kinds only.
const (
	KindHTTP = "http"
	KindTCP  = "tcp"
	KindICMP = "icmp"
	KindDNS  = "dns"
)

// MaxSeq is the highest seq the collector accepts: it fits an int64, what
// InfluxDB stores, and leaves room above it for the arithmetic of the
// acknowledgement (acked+1 never wraps).
const MaxSeq = 1<<63 - 1

// Result is one execution of one check: the unit that travels from probe to
// collector. Durations are milliseconds: readable in JSON and in exports.
type Result struct {
	// Seq is assigned by the probe's spool when the result is stored: it
	// starts at 1 and is contiguous per probe, so a gap always means loss.
	// The collector accepts 1..MaxSeq.
	Seq        uint64             `json:"seq"`
	Time       time.Time          `json:"time"`
	Check      string             `json:"check"`
	Kind       string             `json:"kind"`
	Target     string             `json:"target"`
	Service    string             `json:"service,omitempty"`
	OK         bool               `json:"ok"`
	DurationMS float64            `json:"duration_ms"`
	Phases     map[string]float64 `json:"phases,omitempty"`
	StatusCode int                `json:"status_code,omitempty"`
	ErrorClass ErrorClass         `json:"error_class,omitempty"`
	Error      string             `json:"error,omitempty"`
	Location   *Location          `json:"location,omitempty"`
}

// Location is a WGS84 point, attached to a result by a probe in survey mode.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}
