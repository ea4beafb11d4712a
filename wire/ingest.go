package wire

import "time"

// IngestPath is where a probe POSTs its batches.
const IngestPath = "/api/v1/ingest"

// Batch is the body of POST /api/v1/ingest (gzip-compressed JSON).
type Batch struct {
	Probe string `json:"probe"`
	// SentAt is the probe's clock when it sent the batch; the collector
	// compares it with its own to estimate the probe's clock offset.
	SentAt time.Time `json:"sent_at"`
	// FirstSeq is the lowest seq the probe still holds: every seq below it
	// was acknowledged before or is gone for good, so the collector may
	// settle them and its acknowledgement can move past a known gap.
	FirstSeq uint64 `json:"first_seq,omitempty"`
	// ProbeVersion is the version of the jangkau probe that sent the batch
	// (as "jangkau version" prints it), so that the province can see which
	// districts still run an old probe. At most MaxVersionLen printable
	// ASCII bytes; older probes leave it out.
	ProbeVersion string   `json:"probe_version,omitempty"`
	Results      []Result `json:"results"`
}

// MaxVersionLen bounds Batch.ProbeVersion, a value the collector keeps
// and shows.
const MaxVersionLen = 64

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
