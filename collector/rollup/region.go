package rollup

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// RegionAgg is the aggregate of every cell of one region (a cell's
// Region, the deepest code where it was measured) over one bucket: what a
// region view reads where the cells are many and the regions fewer. It
// holds what the status rules need of a region: the results merged per
// check kind (counts, loss, latency sketch, newest result), the distinct
// probes and tiles, and per e-service the count and successes that tell a
// service outage from a district's. Merging region aggregates gives the
// same figures as merging the cells they came from: counts add, sketches
// add bin by bin, sets unite.
type RegionAgg struct {
	Kinds    map[string]*Agg
	Probes   map[string]bool
	Tiles    map[string]bool // quadkeys as the cells carry them, "" left out
	Services map[string]Tally
}

// Tally counts the results of one e-service and their successes.
type Tally struct{ Count, OK uint64 }

// NewRegionAgg returns an empty aggregate.
func NewRegionAgg() *RegionAgg {
	return &RegionAgg{Kinds: map[string]*Agg{}, Probes: map[string]bool{}, Tiles: map[string]bool{}, Services: map[string]Tally{}}
}

// Add counts one result measured in cell.
func (a *RegionAgg) Add(cell Cell, r *wire.Result) {
	k := a.Kinds[cell.Kind]
	if k == nil {
		k = NewAgg()
		a.Kinds[cell.Kind] = k
	}
	k.Add(r)
	a.Probes[cell.Probe] = true
	if cell.Tile != "" {
		a.Tiles[cell.Tile] = true
	}
	if cell.Service != Uplink && cell.Service != "" {
		t := a.Services[cell.Service]
		t.Count++
		if r.OK {
			t.OK++
		}
		a.Services[cell.Service] = t
	}
}

// Merge adds b into a.
func (a *RegionAgg) Merge(b *RegionAgg) error {
	for kind, g := range b.Kinds {
		k := a.Kinds[kind]
		if k == nil {
			a.Kinds[kind] = g.Clone()
			continue
		}
		if err := k.Merge(g); err != nil {
			return err
		}
	}
	maps.Copy(a.Probes, b.Probes)
	maps.Copy(a.Tiles, b.Tiles)
	for s, t := range b.Services {
		x := a.Services[s]
		x.Count += t.Count
		x.OK += t.OK
		a.Services[s] = x
	}
	return nil
}

// AppendBinary appends a's encoding to b: each part in key order, so that
// equal aggregates encode alike.
func (a *RegionAgg) AppendBinary(b []byte) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(a.Kinds)))
	var enc []byte
	for _, kind := range slices.Sorted(maps.Keys(a.Kinds)) {
		str(kind)
		enc = a.Kinds[kind].AppendBinary(enc[:0])
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	for _, set := range []map[string]bool{a.Probes, a.Tiles} {
		b = binary.AppendUvarint(b, uint64(len(set)))
		for _, s := range slices.Sorted(maps.Keys(set)) {
			str(s)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(a.Services)))
	for _, s := range slices.Sorted(maps.Keys(a.Services)) {
		str(s)
		b = binary.AppendUvarint(b, a.Services[s].Count)
		b = binary.AppendUvarint(b, a.Services[s].OK)
	}
	return b
}

var errRegionShort = errors.New("rollup: region aggregate encoding too short")

// DecodeRegionAgg decodes what AppendBinary wrote. The kinds' sketches
// stay encoded, in b (see DecodeAggLazy): the caller must not change b
// while the aggregate is in use.
func DecodeRegionAgg(b []byte) (*RegionAgg, error) {
	a := &RegionAgg{}
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	bytesOf := func() ([]byte, bool) {
		l, ok := uv()
		if !ok || uint64(len(b)) < l {
			return nil, false
		}
		s := b[:l:l]
		b = b[l:]
		return s, true
	}
	n, ok := uv()
	if !ok || n > uint64(len(b)) {
		return nil, errRegionShort
	}
	a.Kinds = make(map[string]*Agg, n)
	for range n {
		kind, ok1 := bytesOf()
		enc, ok2 := bytesOf()
		if !ok1 || !ok2 {
			return nil, errRegionShort
		}
		g, err := DecodeAggLazy(enc)
		if err != nil {
			return nil, err
		}
		a.Kinds[string(kind)] = g
	}
	for _, set := range []*map[string]bool{&a.Probes, &a.Tiles} {
		if n, ok = uv(); !ok || n > uint64(len(b)) {
			return nil, errRegionShort
		}
		*set = make(map[string]bool, n)
		for range n {
			s, ok := bytesOf()
			if !ok {
				return nil, errRegionShort
			}
			(*set)[string(s)] = true
		}
	}
	if n, ok = uv(); !ok || n > uint64(len(b)) {
		return nil, errRegionShort
	}
	a.Services = make(map[string]Tally, n)
	for range n {
		s, ok1 := bytesOf()
		c, ok2 := uv()
		o, ok3 := uv()
		if !ok1 || !ok2 || !ok3 {
			return nil, errRegionShort
		}
		a.Services[string(s)] = Tally{Count: c, OK: o}
	}
	if len(b) != 0 {
		return nil, errors.New("rollup: trailing bytes in region aggregate")
	}
	return a, nil
}

// RegionKey is one region row: a bucket start at a resolution, and a
// region code.
type RegionKey struct {
	Res    time.Duration
	Bucket int64 // unix nanoseconds of the bucket's start
	Region string
}

// RegionDelta collects the region aggregates of a batch, as Delta does
// the cells'.
type RegionDelta map[RegionKey]*RegionAgg

// Add counts r, measured in cell, into its region's rows at both
// resolutions.
func (d RegionDelta) Add(cell Cell, r *wire.Result) {
	for _, res := range [...]time.Duration{Minute, Hour} {
		k := RegionKey{Res: res, Bucket: r.Time.Truncate(res).UnixNano(), Region: cell.Region}
		a := d[k]
		if a == nil {
			a = NewRegionAgg()
			d[k] = a
		}
		a.Add(cell, r)
	}
}

// Totals are the counts of every kind together: results, successes, the
// icmp loss sums and the newest result (zero without results, as a
// coverage group starts).
func (a *RegionAgg) Totals() (count, ok uint64, lossSum float64, lossN uint64, last int64) {
	for _, g := range a.Kinds {
		count += g.Count
		ok += g.OK
		lossSum += g.LossSum
		lossN += g.LossN
		last = max(last, g.Last)
	}
	return count, ok, lossSum, lossN, last
}
