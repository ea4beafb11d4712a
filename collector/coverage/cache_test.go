package coverage

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/geo"
)

func TestCachedSourceSameAnswerReadOncePerGeneration(t *testing.T) {
	e := newEngine(t)
	s := &rows{rollup.Delta{}}
	cell := rollup.Cell{Region: "99.01.01", Tile: geo.Quadkey(geo.TileAt(0.05, 100.05, 15)), Service: rollup.Uplink, Kind: "http", Probe: "a"}
	feed(s, cell, 3*time.Hour, always, flat(20))
	var reads atomic.Int64
	counted := func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
		reads.Add(1)
		return s.source()(ctx, res, from, to, fn)
	}
	gen := uint64(1)
	cached := CachedSource(counted, func() uint64 { return gen })
	q := Query{From: now.Add(-150*time.Minute - 30*time.Second), To: now, Now: now}
	ctx := context.Background()

	want, err := e.Regions(ctx, s.source(), nil, 3, q)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := e.Regions(ctx, cached, nil, 3, q)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) { // NaN != NaN for DeepEqual
			t.Fatalf("cached answer differs:\n got %+v\nwant %+v", got, want)
		}
		if _, err := e.Tiles(ctx, cached, 15, orb.Bound{}, q); err != nil {
			t.Fatal(err)
		}
	}
	spans := int64(len(rollup.Plan(q.From, q.To)))
	if reads.Load() != spans {
		t.Errorf("%d reads for two region views and two tile views, want %d (one per span)", reads.Load(), spans)
	}
	gen++ // a write
	if _, err := e.Regions(ctx, cached, nil, 3, q); err != nil {
		t.Fatal(err)
	}
	if reads.Load() != 2*spans {
		t.Errorf("after a write: %d reads, want %d", reads.Load(), 2*spans)
	}

	// A failed read is not kept.
	boom := errors.New("boom")
	fail := true
	flaky := CachedSource(func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
		if fail {
			return boom
		}
		return s.source()(ctx, res, from, to, fn)
	}, func() uint64 { return 1 })
	if _, err := e.Regions(ctx, flaky, nil, 3, q); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	fail = false
	if _, err := e.Regions(ctx, flaky, nil, 3, q); err != nil {
		t.Fatalf("after a failed read: %v", err)
	}
}
