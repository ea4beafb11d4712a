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
	ProbeVersion string `json:"probe_version,omitempty"`
	// SpoolEpoch names the probe's spool: a random id made when the spool
	// file was created and kept in it. Seqs count within one epoch: a
	// probe whose spool was lost or deleted starts again at seq 1 under a
	// new epoch, and the collector starts a new seq space for it (what
	// the old epoch left unacknowledged counts as lost) instead of taking
	// the new results for duplicates. At most MaxEpochLen bytes of
	// [0-9A-Za-z_-]; older probes leave it out and the collector keeps
	// the seq space it has.
	SpoolEpoch string `json:"spool_epoch,omitempty"`
	// Dropped reports the results this spool epoch could never store
	// (its writer's queue was full, the disk refused the commit): they
	// never got a seq, so no gap shows them. Cumulative and kept in the
	// spool, so that a lost batch or a restart never loses the report and
	// a resent one never counts twice. Absent when nothing was dropped.
	Dropped *Dropped `json:"dropped,omitempty"`
	// BootID is random per start of the probe process (same form as
	// SpoolEpoch). A probe id's batches come from one process at a time:
	// a boot id that comes back after another one means two processes
	// send for one probe id (a cloned probe), which the collector logs and
	// counts. Older probes leave it out.
	BootID  string   `json:"boot_id,omitempty"`
	Results []Result `json:"results"`
}

// MaxEpochLen bounds Batch.SpoolEpoch.
const MaxEpochLen = 64

// Dropped is the running total of results a spool epoch dropped before
// they got a seq, and the times of the first and last of them (the
// results' own times, the probe's clock).
type Dropped struct {
	Results uint64    `json:"results"`
	First   time.Time `json:"first,omitzero"`
	Last    time.Time `json:"last,omitzero"`
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
