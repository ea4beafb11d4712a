package evidence

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func TestFileStoreVersionsAndRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	st, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	area := orb.MultiPolygon{{{{106, -6.5}, {106.1, -6.5}, {106.1, -6.4}, {106, -6.5}}}}
	l := Layer{ID: "claim-x-4g", Kind: KindClaim, Source: "X", Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	v1, err := st.Put(ctx, l, []Observation{{Line: 0, Tech: "4G", Signal: SignalStrong, Area: area}})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := st.Put(ctx, l, []Observation{{Line: 0, Tech: "4G", Signal: SignalStrong}, {Line: 1, Tech: "3G", Signal: SignalWeak}})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v2.Version != 2 || v1.Rows != 1 || v2.Rows != 2 {
		t.Fatalf("versions %d/%d rows %d/%d, want 1/2 and 1/2", v1.Version, v2.Version, v1.Rows, v2.Rows)
	}
	if _, err := st.Put(ctx, Layer{ID: "claim-x-4g", Kind: KindPodes}, nil); err == nil {
		t.Fatal("a podes layer under a claim layer's id was stored")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything survives a reopen.
	st, err = OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	layers, err := st.Layers(ctx)
	if err != nil || len(layers) != 1 || layers[0].Version != 2 {
		t.Fatalf("Layers = %+v, %v; want version 2 only", layers, err)
	}
	count := func(version int) (n int, got []Observation) {
		err := st.Observations(ctx, "claim-x-4g", version, func(o *Observation) error {
			got = append(got, *o)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(got), got
	}
	if n, _ := count(0); n != 2 {
		t.Fatalf("newest version has %d rows, want 2", n)
	}
	n, got := count(1)
	if n != 1 || len(got[0].Area) != 1 || len(got[0].Area[0][0]) != 4 || got[0].Area[0][0][1] != (orb.Point{106.1, -6.5}) {
		t.Fatalf("version 1 rows = %+v, want the area back", got)
	}
	if err := st.Observations(ctx, "nope", 0, func(*Observation) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown layer: %v, want ErrNotFound", err)
	}
	if err := st.Observations(ctx, "claim-x-4g", 3, func(*Observation) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown version: %v, want ErrNotFound", err)
	}
}

func TestFileStorePutIsAtomic(t *testing.T) {
	ctx := context.Background()
	st, err := OpenFile(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A row that cannot be encoded fails the whole Put: no layer, no rows.
	bad := []Observation{{Line: 2, DownKbps: 1}, {Line: 3, DownKbps: nan()}}
	if _, err := st.Put(ctx, Layer{ID: "speed", Kind: KindSpeedtest}, bad); err == nil {
		t.Fatal("a NaN row was stored")
	}
	if layers, err := st.Layers(ctx); err != nil || len(layers) != 0 {
		t.Fatalf("after a failed Put: %+v, %v; want nothing", layers, err)
	}
	if l, err := st.Put(ctx, Layer{ID: "speed", Kind: KindSpeedtest}, bad[:1]); err != nil || l.Version != 1 {
		t.Fatalf("Put after a failed one: %+v, %v; want version 1", l, err)
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}
