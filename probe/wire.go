package probe

import (
	"time"
)

// Kinds of check this probe knows. The collector accepts results of these
// kinds only.
const (
	KindHTTP = "http"
	KindTCP  = "tcp"
	KindICMP = "icmp"
	KindDNS  = "dns"
)

// Error classes a failed result carries, so that a map can tell a dead port
// from a slow link without parsing messages.
const (
	ErrTimeout     = "timeout"
	ErrRefused     = "refused"
	ErrDNS         = "dns"
	ErrTLS         = "tls"
	ErrStatus      = "status"
	ErrBody        = "body"
	ErrUnreachable = "unreachable"
	ErrReset       = "reset"
	ErrOther       = "other"
)

// Result is one execution of one check: the unit that travels from probe to
// collector. Durations are milliseconds: readable in JSON and in exports.
type Result struct {
	// Seq is assigned by the probe's spool when the result is stored: it
	// starts at 1 and is contiguous per probe, so a gap always means loss.
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
	ErrorClass string             `json:"error_class,omitempty"`
	Error      string             `json:"error,omitempty"`
	Location   *Location          `json:"location,omitempty"`
}

// Location is a WGS84 point, attached to a result by a probe in survey mode.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Batch is the body of POST /api/v1/ingest (gzip-compressed JSON).
type Batch struct {
	Probe string `json:"probe"`
	// SentAt is the probe's clock when it sent the batch; the collector
	// compares it with its own to estimate the probe's clock offset.
	SentAt time.Time `json:"sent_at"`
	// FirstSeq is the lowest seq the probe still holds: every seq below it
	// was acknowledged before or is gone for good, so the collector may
	// settle them and its acknowledgement can move past a known gap.
	FirstSeq uint64   `json:"first_seq,omitempty"`
	Results  []Result `json:"results"`
}

// IngestResponse is the collector's answer to a batch.
type IngestResponse struct {
	// AckedSeq is the highest seq such that every seq up to it is durably
	// stored or settled (rejected, or below a FirstSeq). The probe may forget
	// every result up to it.
	AckedSeq   uint64      `json:"acked_seq"`
	Stored     int         `json:"stored"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected,omitempty"`
}

// Rejection says why one result of a batch was refused. The probe must not
// send a rejected result again.
type Rejection struct {
	Index  int    `json:"index"`
	Seq    uint64 `json:"seq,omitempty"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}
