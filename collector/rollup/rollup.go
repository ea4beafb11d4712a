// Package rollup pre-aggregates results on ingest, so that a coverage
// query merges a few rows per cell instead of scanning raw results.
//
// A row is the aggregate of one Cell over one bucket of time, at two
// resolutions: a minute (for the edges of a window and for telling a
// service outage from a district's) and an hour (for the whole hours
// inside a window). Latency is a DDSketch: its relative-error guarantee
// holds after any number of merges, so percentiles over probes, regions,
// tiles and time are right, never an average of percentiles.
package rollup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/jangkau/jangkau/wire"
)

// Resolutions of the stored rows.
const (
	Minute = time.Minute
	Hour   = time.Hour
)

// Accuracy is the sketch's relative accuracy: a reported percentile is
// within 1% of a value that really is at that rank.
const Accuracy = 0.01

// Uplink is the service name of checks that measure plain reachability
// (the gateway, DNS, a national anchor) rather than an e-service.
const Uplink = "uplink"

var indexMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(Accuracy)
	if err != nil {
		panic(err)
	}
	return m
}()

// Cell is where and what a result measured: the unit of aggregation.
type Cell struct {
	Region  string // deepest region code where it was measured
	Tile    string // quadkey of the tile where it was measured; "" if unknown
	Carrier string // the probe's carrier
	Service string // the check's e-service, or Uplink
	Kind    string // http, tcp, icmp, dns
	Probe   string
}

// Agg is the aggregate of results of one cell over one bucket.
type Agg struct {
	Count, OK uint64
	// LossSum sums the packet loss ratios of LossN icmp results.
	LossSum float64
	LossN   uint64
	// Latency holds the durations (ms) of successful results. It is nil
	// in an aggregate from DecodeAggLazy until a method that adds to it
	// runs: use the methods, which read either form.
	Latency *ddsketch.DDSketch
	// enc is the still encoded sketch of a lazily decoded aggregate.
	enc []byte
	// Last is the newest result's time, unix nanoseconds.
	Last int64
}

// NewAgg returns an empty aggregate.
func NewAgg() *Agg {
	return &Agg{Latency: newSketch()}
}

func newSketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(indexMapping, store.NewDenseStore(), store.NewDenseStore())
}

// sketch returns the latency sketch, decoding a lazy one for good.
func (a *Agg) sketch() *ddsketch.DDSketch {
	if a.Latency == nil {
		sk, err := a.readSketch()
		if err != nil {
			sk = newSketch() // a bad encoding: Merge and Quantile said so
		}
		a.Latency, a.enc = sk, nil
	}
	return a.Latency
}

// readSketch returns the latency sketch without changing a: a lazy one is
// decoded into a fresh sketch.
func (a *Agg) readSketch() (*ddsketch.DDSketch, error) {
	if a.Latency != nil {
		return a.Latency, nil
	}
	sk := newSketch()
	return sk, sk.DecodeAndMergeWith(a.enc)
}

// Add counts one result.
func (a *Agg) Add(r *wire.Result) {
	a.Count++
	if r.OK {
		a.OK++
		a.sketch().Add(math.Max(r.DurationMS, 0))
	}
	// A loss outside [0, 1] is not one (the ingest refuses it; this keeps
	// one that reached a store from making every view over it fail).
	if loss, ok := r.Phases["loss"]; ok && r.Kind == wire.KindICMP && loss >= 0 && loss <= 1 {
		a.LossSum += loss
		a.LossN++
	}
	if t := r.Time.UnixNano(); t > a.Last {
		a.Last = t
	}
}

// Merge adds b into a. A lazy b is decoded straight into a's sketch, with
// no sketch of its own: what makes reading many rows cheap.
func (a *Agg) Merge(b *Agg) error {
	a.Count += b.Count
	a.OK += b.OK
	a.LossSum += b.LossSum
	a.LossN += b.LossN
	a.Last = max(a.Last, b.Last)
	if b.Latency == nil {
		return a.sketch().DecodeAndMergeWith(b.enc)
	}
	return a.sketch().MergeWith(b.Latency)
}

// Clone returns a copy of a that shares nothing with it: what a consumer
// that merges into a kept aggregate starts from (one allocation of the
// right size, where NewAgg and Merge grow the sketch step by step).
func (a *Agg) Clone() *Agg {
	c := *a
	if a.Latency != nil {
		c.Latency = a.Latency.Copy()
	} else {
		c.enc = append([]byte(nil), a.enc...)
	}
	return &c
}

// Availability is the successful share, NaN without results.
func (a *Agg) Availability() float64 {
	if a.Count == 0 {
		return math.NaN()
	}
	return float64(a.OK) / float64(a.Count)
}

// Loss is the mean packet loss of icmp results, NaN without any.
func (a *Agg) Loss() float64 {
	if a.LossN == 0 {
		return math.NaN()
	}
	return a.LossSum / float64(a.LossN)
}

// Quantile is the latency (ms) at quantile q of successful results, NaN
// without any.
func (a *Agg) Quantile(q float64) float64 {
	sk, err := a.readSketch()
	if err != nil || sk.IsEmpty() {
		return math.NaN()
	}
	v, err := sk.GetValueAtQuantile(q)
	if err != nil {
		return math.NaN()
	}
	return v
}

// AppendBinary appends a's encoding to b.
func (a *Agg) AppendBinary(b []byte) []byte {
	b = binary.AppendUvarint(b, a.Count)
	b = binary.AppendUvarint(b, a.OK)
	b = binary.AppendUvarint(b, a.LossN)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(a.LossSum))
	b = binary.AppendVarint(b, a.Last)
	if a.Latency == nil {
		return append(b, a.enc...)
	}
	a.Latency.Encode(&b, true)
	return b
}

var errShort = errors.New("rollup: aggregate encoding too short")

// DecodeAgg decodes what AppendBinary wrote.
func DecodeAgg(b []byte) (*Agg, error) {
	a, err := DecodeAggLazy(b)
	if err != nil {
		return nil, err
	}
	if a.Latency, err = a.readSketch(); err != nil {
		return nil, fmt.Errorf("rollup: latency sketch: %w", err)
	}
	a.enc = nil
	return a, nil
}

// DecodeAggLazy decodes what AppendBinary wrote but keeps the latency
// sketch encoded, in b, until a method needs it: merging a lazy aggregate
// into another decodes its sketch straight into the other's. The caller
// must not change b while the aggregate is in use.
func DecodeAggLazy(b []byte) (*Agg, error) {
	a := &Agg{}
	if err := DecodeAggLazyInto(a, b); err != nil {
		return nil, err
	}
	return a, nil
}

// DecodeAggLazyInto is DecodeAggLazy into an aggregate the caller
// provides (one of many allocated at once, say), overwriting it.
func DecodeAggLazyInto(a *Agg, b []byte) error {
	*a = Agg{}
	var n int
	uv := func(dst *uint64) bool {
		*dst, n = binary.Uvarint(b)
		if n <= 0 {
			return false
		}
		b = b[n:]
		return true
	}
	if !uv(&a.Count) || !uv(&a.OK) || !uv(&a.LossN) || len(b) < 8 {
		return errShort
	}
	a.LossSum = math.Float64frombits(binary.LittleEndian.Uint64(b))
	b = b[8:]
	if a.Last, n = binary.Varint(b); n <= 0 {
		return errShort
	}
	// A bad sketch shows when it is read: Merge returns the error,
	// Quantile NaN.
	a.enc = b[n:]
	return nil
}

// AppendKey appends the cell's encoding to b: length-prefixed fields, so
// that any byte may appear in a name.
func (c Cell) AppendKey(b []byte) []byte {
	for _, s := range [...]string{c.Region, c.Tile, c.Carrier, c.Service, c.Kind, c.Probe} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// DecodeCell decodes what AppendKey wrote.
func DecodeCell(b []byte) (Cell, error) {
	var f [6]string
	for i := range f {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return Cell{}, errors.New("rollup: bad cell key")
		}
		f[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if len(b) != 0 {
		return Cell{}, errors.New("rollup: trailing bytes in cell key")
	}
	return Cell{Region: f[0], Tile: f[1], Carrier: f[2], Service: f[3], Kind: f[4], Probe: f[5]}, nil
}

// Delta collects the aggregates of a batch per bucket and cell, so that a
// store merges each stored row once per batch.
type Delta map[Key]*Agg

// Key is one row: a bucket start at a resolution, and a cell.
type Key struct {
	Res    time.Duration
	Bucket int64 // unix nanoseconds of the bucket's start
	Cell   Cell
}

// Add counts r, measured in cell, into both resolutions.
func (d Delta) Add(cell Cell, r *wire.Result) {
	for _, res := range [...]time.Duration{Minute, Hour} {
		k := Key{Res: res, Bucket: r.Time.Truncate(res).UnixNano(), Cell: cell}
		a := d[k]
		if a == nil {
			a = NewAgg()
			d[k] = a
		}
		a.Add(r)
	}
}

// Span is a part of a window read at one resolution.
type Span struct {
	From, To time.Time
	Res      time.Duration
}

// Plan splits [from, to) into the spans a query reads: whole hours from
// hour rows, the edges from minute rows. The window first widens to whole
// minutes, the finest resolution kept: from rounds down and to rounds up,
// so that every result inside the window counts (a live window includes
// the minute now running) at the price of up to a minute more on each end.
func Plan(from, to time.Time) []Span {
	from = from.Truncate(Minute)
	if t := to.Truncate(Minute); t.Before(to) {
		to = t.Add(Minute)
	}
	if !from.Before(to) {
		return nil
	}
	h0 := from.Truncate(Hour)
	if h0.Before(from) {
		h0 = h0.Add(Hour)
	}
	h1 := to.Truncate(Hour)
	if !h0.Before(h1) {
		return []Span{{from, to, Minute}}
	}
	var out []Span
	if from.Before(h0) {
		out = append(out, Span{from, h0, Minute})
	}
	out = append(out, Span{h0, h1, Hour})
	if h1.Before(to) {
		out = append(out, Span{h1, to, Minute})
	}
	return out
}
