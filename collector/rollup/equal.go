package rollup

import (
	"bytes"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// Equal says whether a and b aggregate alike: the same counts, sums,
// newest time and latency sketch, so that every figure read from them is
// the same. Two lazily decoded aggregates of the same encoding compare
// without decoding; otherwise the sketches compare bin by bin. A sketch
// that does not decode is equal to nothing.
func (a *Agg) Equal(b *Agg) bool {
	if a == b {
		return true
	}
	if a.Count != b.Count || a.OK != b.OK || a.LossN != b.LossN || a.LossSum != b.LossSum || a.Last != b.Last {
		return false
	}
	if a.Latency == nil && b.Latency == nil && bytes.Equal(a.enc, b.enc) {
		return true
	}
	sa, err := a.readSketch()
	if err != nil {
		return false
	}
	sb, err := b.readSketch()
	if err != nil {
		return false
	}
	return sketchEqual(sa, sb)
}

func sketchEqual(a, b *ddsketch.DDSketch) bool {
	return a.GetZeroCount() == b.GetZeroCount() &&
		storeEqual(a.GetPositiveValueStore(), b.GetPositiveValueStore()) &&
		storeEqual(a.GetNegativeValueStore(), b.GetNegativeValueStore())
}

// storeEqual compares the non-empty bins of two stores.
func storeEqual(a, b store.Store) bool {
	type bin struct {
		index int
		count float64
	}
	var bins []bin
	a.ForEach(func(i int, c float64) bool {
		if c != 0 {
			bins = append(bins, bin{i, c})
		}
		return false
	})
	n, same := 0, true
	b.ForEach(func(i int, c float64) bool {
		if c == 0 {
			return false
		}
		if n >= len(bins) || bins[n] != (bin{i, c}) {
			same = false
			return true
		}
		n++
		return false
	})
	return same && n == len(bins)
}
