package rollup

import (
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
)

func TestEqual(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	agg := func(ms ...float64) *Agg {
		a := NewAgg()
		for _, m := range ms {
			a.Add(&wire.Result{Time: at, OK: true, DurationMS: m})
		}
		return a
	}
	lazy := func(a *Agg) *Agg {
		l, err := DecodeAggLazy(a.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := agg(10, 20, 30)
	merged := agg(10)
	if err := merged.Merge(lazy(agg(20, 30))); err != nil {
		t.Fatal(err)
	}
	failed := agg(10, 20)
	failed.Add(&wire.Result{Time: at, DurationMS: 5000})
	for _, tc := range []struct {
		name string
		a, b *Agg
		want bool
	}{
		{"itself", a, a, true},
		{"the same results", a, agg(10, 20, 30), true},
		{"lazy, the same encoding", lazy(a), lazy(agg(10, 20, 30)), true},
		{"lazy and decoded", lazy(a), a, true},
		{"merged in another order", merged, lazy(a), true},
		{"another latency, same counts", a, agg(10, 20, 31), false},
		{"lazy, another latency", lazy(a), lazy(agg(10, 20, 300)), false},
		{"a failure more", agg(10, 20), failed, false},
		{"a result more", a, agg(10, 20, 30, 30), false},
	} {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%s: Equal %v, want %v", tc.name, got, tc.want)
		}
		if got := tc.b.Equal(tc.a); got != tc.want {
			t.Errorf("%s, swapped: Equal %v, want %v", tc.name, got, tc.want)
		}
	}
}
