package rollup

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
)

func exactQuantile(sorted []float64, q float64) float64 {
	// The rank DDSketch uses: the value at index floor(q*(n-1)).
	return sorted[int(q*float64(len(sorted)-1))]
}

// TestMergedPercentilesStayAccurate splits latencies of very different
// districts across many aggregates, merges them, and checks every
// percentile against the exact one of all values: what an average of
// per-district percentiles would get wrong.
func TestMergedPercentilesStayAccurate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var all []float64
	total := NewAgg()
	var parts []*Agg
	for d := range 20 {
		a := NewAgg()
		scale := math.Pow(3, float64(d%6)) // 1 ms .. 243 ms districts
		for range 500 {
			v := scale * (1 + rng.ExpFloat64())
			all = append(all, v)
			a.Add(&wire.Result{OK: true, DurationMS: v, Kind: wire.KindHTTP})
		}
		a.Add(&wire.Result{OK: false, Kind: wire.KindHTTP})
		parts = append(parts, a)
	}
	for _, p := range parts {
		if err := total.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(all)
	for _, q := range []float64{0.05, 0.5, 0.9, 0.95, 0.99} {
		got, want := total.Quantile(q), exactQuantile(all, q)
		if math.Abs(got-want)/want > Accuracy {
			t.Errorf("p%g = %g, exact %g: more than %g relative error", q*100, got, want, Accuracy)
		}
	}
	if total.Count != 20*501 || total.OK != 20*500 {
		t.Errorf("count %d ok %d", total.Count, total.OK)
	}
	if a := total.Availability(); math.Abs(a-500.0/501) > 1e-12 {
		t.Errorf("availability %g", a)
	}
}

func TestAggEncoding(t *testing.T) {
	a := NewAgg()
	for i := range 100 {
		a.Add(&wire.Result{OK: i%4 != 0, DurationMS: float64(i) + 0.5, Kind: wire.KindICMP,
			Phases: map[string]float64{"loss": float64(i%5) / 5}, Time: time.Unix(0, int64(i)*1e9)})
	}
	b, err := DecodeAgg(a.AppendBinary(nil))
	if err != nil {
		t.Fatal(err)
	}
	if b.Count != 100 || b.OK != 75 || b.LossN != 100 || b.LossSum != a.LossSum || b.Last != 99e9 {
		t.Errorf("decoded %+v, want %+v", b, a)
	}
	for _, q := range []float64{0.1, 0.5, 0.99} {
		if b.Quantile(q) != a.Quantile(q) {
			t.Errorf("q%g: %g after decoding, %g before", q, b.Quantile(q), a.Quantile(q))
		}
	}
	if math.Abs(b.Loss()-0.4) > 1e-9 {
		t.Errorf("loss %g, want 0.4", b.Loss())
	}
	if _, err := DecodeAgg([]byte{1}); err == nil {
		t.Error("a truncated encoding decoded")
	}
	if e := NewAgg(); !math.IsNaN(e.Quantile(0.5)) || !math.IsNaN(e.Availability()) || !math.IsNaN(e.Loss()) {
		t.Error("an empty aggregate reports numbers")
	}
}

func TestCellKey(t *testing.T) {
	c := Cell{Region: "36.01.05", Tile: "132100", Carrier: "tel\x00kom", Service: "", Kind: "http", Probe: "p-1"}
	got, err := DecodeCell(c.AppendKey(nil))
	if err != nil || got != c {
		t.Errorf("DecodeCell = %+v, %v; want %+v", got, err, c)
	}
	if _, err := DecodeCell([]byte{5, 'a'}); err == nil {
		t.Error("a truncated key decoded")
	}
}

func TestDeltaAddsBothResolutions(t *testing.T) {
	d := Delta{}
	c := Cell{Region: "36.01", Service: Uplink, Kind: "tcp"}
	t0 := time.Date(2026, 11, 27, 8, 59, 30, 0, time.UTC)
	for _, at := range []time.Time{t0, t0.Add(20 * time.Second), t0.Add(40 * time.Second)} {
		d.Add(c, &wire.Result{Time: at, OK: true, DurationMS: 1})
	}
	want := map[Key]uint64{
		{Minute, t0.Truncate(Minute).UnixNano(), c}:                  2,
		{Minute, t0.Add(time.Minute).Truncate(Minute).UnixNano(), c}: 1,
		{Hour, t0.Truncate(Hour).UnixNano(), c}:                      2,
		{Hour, t0.Add(time.Hour).Truncate(Hour).UnixNano(), c}:       1,
	}
	if len(d) != len(want) {
		t.Fatalf("%d rows, want %d", len(d), len(want))
	}
	for k, n := range want {
		if d[k] == nil || d[k].Count != n {
			t.Errorf("row %+v: %v, want count %d", k, d[k], n)
		}
	}
}

func TestPlan(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 27, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		from, to time.Time
		want     []Span
	}{
		{"inside one hour", at(8, 10), at(8, 25), []Span{{at(8, 10), at(8, 25), Minute}}},
		{"across an hour", at(8, 50), at(9, 5), []Span{{at(8, 50), at(9, 5), Minute}}},
		{"whole hours and edges", at(7, 45), at(10, 15), []Span{
			{at(7, 45), at(8, 0), Minute}, {at(8, 0), at(10, 0), Hour}, {at(10, 0), at(10, 15), Minute}}},
		{"aligned", at(8, 0), at(10, 0), []Span{{at(8, 0), at(10, 0), Hour}}},
		{"widened to whole minutes", at(8, 0).Add(30 * time.Second), at(8, 2).Add(59 * time.Second), []Span{{at(8, 0), at(8, 3), Minute}}},
		{"a few seconds", at(8, 2).Add(10 * time.Second), at(8, 2).Add(13 * time.Second), []Span{{at(8, 2), at(8, 3), Minute}}},
		{"empty", at(8, 0), at(8, 0), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.from, tc.to)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Plan = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLazyAggMatchesEager: a lazily decoded aggregate merges, reads and
// encodes as the eagerly decoded one does, and merging it leaves it as it was.
func TestLazyAggMatchesEager(t *testing.T) {
	a := NewAgg()
	for i := range 200 {
		a.Add(&wire.Result{OK: i%7 != 0, DurationMS: float64(1 + i*i%900), Kind: wire.KindHTTP})
	}
	enc := a.AppendBinary(nil)
	eager, err := DecodeAgg(enc)
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := DecodeAggLazy(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got := lazy.AppendBinary(nil); string(got) != string(enc) {
		t.Error("lazy aggregate encodes differently")
	}
	for _, q := range []float64{0.5, 0.95} {
		if l, e := lazy.Quantile(q), eager.Quantile(q); l != e {
			t.Errorf("p%g: lazy %g, eager %g", q*100, l, e)
		}
	}
	x, y := NewAgg(), NewAgg()
	for range 2 {
		if err := x.Merge(lazy); err != nil {
			t.Fatal(err)
		}
		if err := y.Merge(eager); err != nil {
			t.Fatal(err)
		}
	}
	if string(x.AppendBinary(nil)) != string(y.AppendBinary(nil)) {
		t.Error("merging a lazy aggregate differs from merging an eager one")
	}
	lazy.Add(&wire.Result{OK: true, DurationMS: 5})
	if lazy.Count != a.Count+1 || lazy.Latency == nil {
		t.Errorf("Add on a lazy aggregate: count %d, sketch %v", lazy.Count, lazy.Latency)
	}
	if _, err := DecodeAggLazy(enc[:3]); err == nil {
		t.Error("truncated aggregate decoded")
	}
}

// TestCloneSharesNothing: merging into a clone, of an eager or a lazy
// aggregate, leaves the original as it was.
func TestCloneSharesNothing(t *testing.T) {
	orig := NewAgg()
	for i := range 50 {
		orig.Add(&wire.Result{OK: true, DurationMS: float64(10 + i), Time: time.Unix(int64(i), 0)})
	}
	lazy, err := DecodeAggLazy(orig.AppendBinary(nil))
	if err != nil {
		t.Fatal(err)
	}
	more := NewAgg()
	for range 200 {
		more.Add(&wire.Result{OK: true, DurationMS: 900, Time: time.Unix(999, 0)})
	}
	for name, a := range map[string]*Agg{"eager": orig, "lazy": lazy} {
		before := string(a.AppendBinary(nil))
		c := a.Clone()
		if string(c.AppendBinary(nil)) != before {
			t.Errorf("%s: clone encodes differently", name)
		}
		if err := c.Merge(more); err != nil {
			t.Fatal(err)
		}
		if string(a.AppendBinary(nil)) != before || a.Quantile(0.95) > 100 {
			t.Errorf("%s: merging into the clone changed the original (p95 %g)", name, a.Quantile(0.95))
		}
		if c.Count != 250 || c.Quantile(0.95) < 850 {
			t.Errorf("%s: clone after the merge: count %d, p95 %g", name, c.Count, c.Quantile(0.95))
		}
	}
}
