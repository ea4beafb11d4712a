package rollup

import (
	"bytes"
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// TestRegionAggEncoding round-trips a region aggregate and refuses every
// shortened encoding.
func TestRegionAggEncoding(t *testing.T) {
	d := RegionDelta{}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for i, c := range []Cell{
		{Region: "11.01", Tile: "1302", Service: Uplink, Kind: wire.KindICMP, Probe: "a"},
		{Region: "11.01", Tile: "1303", Service: "pajak", Kind: wire.KindHTTP, Probe: "b"},
		{Region: "11.01", Service: "pajak", Kind: wire.KindHTTP, Probe: "a"},
	} {
		d.Add(c, &wire.Result{Time: at.Add(time.Duration(i) * time.Second), Kind: c.Kind, OK: i != 1, DurationMS: 40 + float64(i),
			Phases: map[string]float64{"loss": 0.25}})
	}
	a := d[RegionKey{Res: Hour, Bucket: at.UnixNano(), Region: "11.01"}]
	if a == nil || len(a.Probes) != 2 || len(a.Tiles) != 2 || a.Services["pajak"] != (Tally{Count: 2, OK: 1}) {
		t.Fatalf("aggregate %+v: want 2 probes, 2 tiles, pajak 2 results 1 ok", a)
	}
	enc := a.AppendBinary(nil)
	b, err := DecodeRegionAgg(enc)
	if err != nil {
		t.Fatal(err)
	}
	if again := b.AppendBinary(nil); !bytes.Equal(again, enc) {
		t.Errorf("re-encoded %x, want %x", again, enc)
	}
	count, ok, lossSum, lossN, last := b.Totals()
	if count != 3 || ok != 2 || lossSum != 0.25 || lossN != 1 || last != at.Add(2*time.Second).UnixNano() {
		t.Errorf("totals %d %d %g %d %d", count, ok, lossSum, lossN, last)
	}
	for n := range len(enc) {
		if _, err := DecodeRegionAgg(enc[:n]); err == nil {
			t.Errorf("%d of %d bytes decoded", n, len(enc))
		}
	}
}
