package embedded

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// TestRollupsHandsOutAggregatesToKeep: aggregates from one Rollups call,
// more than a slab of them, stay each their own after the call.
func TestRollupsHandsOutAggregatesToKeep(t *testing.T) {
	st, err := Open(t.TempDir(), NoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)
	w := store.Write{Probe: "p", FirstSeq: 1, Received: at}
	const cells = 3*aggSlab + 7
	for c := range cells {
		for k := range c%5 + 1 { // cell c holds c%5+1 results
			w.Results = append(w.Results, wire.Result{Seq: uint64(len(w.Results) + 1), Time: at.Add(time.Duration(k) * time.Second),
				Check: "c", Kind: "tcp", Target: "127.0.0.1:1", OK: true, DurationMS: float64(c)})
			w.Cells = append(w.Cells, rollup.Cell{Region: "99.01", Service: rollup.Uplink, Kind: "tcp", Probe: fmt.Sprintf("p%05d", c)})
		}
	}
	if _, err := st.Write(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	kept := map[string]*rollup.Agg{}
	err = st.Rollups(context.Background(), rollup.Minute, at, at.Add(time.Minute), func(_ time.Time, c rollup.Cell, a *rollup.Agg) error {
		kept[c.Probe] = a
		return nil
	})
	if err != nil || len(kept) != cells {
		t.Fatalf("%d rows, %v; want %d", len(kept), err, cells)
	}
	for c := range cells {
		a := kept[fmt.Sprintf("p%05d", c)]
		if a.Count != uint64(c%5+1) || (c > 0 && math.Abs(a.Quantile(0.5)-float64(c))/float64(c) > rollup.Accuracy) {
			t.Fatalf("cell %d after the call: count %d, median %g", c, a.Count, a.Quantile(0.5))
		}
	}
}
