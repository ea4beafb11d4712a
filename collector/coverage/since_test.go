package coverage

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/wire"
)

// TestBlankSinceToTheMinute: a region whose first results (all failing)
// came in minute 08:03 is blank since 08:03, not since the hour; one whose
// streak began before the hour's results turned blank is refined into the
// previous hour. The clock is in WIB, as a collector's local clock is, and
// the rows' buckets are UTC, as both stores give them.
func TestBlankSinceToTheMinute(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 27, h, m, s, 0, time.UTC) }
	s := &rows{rollup.Delta{}}
	a := rollup.Cell{Region: "99.01.01", Service: rollup.Uplink, Kind: "tcp", Probe: "a"}
	b := rollup.Cell{Region: "99.02.01", Service: rollup.Uplink, Kind: "tcp", Probe: "b"}
	for tm := at(8, 3, 0); tm.Before(at(8, 20, 0)); tm = tm.Add(30 * time.Second) {
		s.add(a, wire.Result{Time: tm, OK: false, Kind: "tcp"})
	}
	for tm := at(7, 10, 0); tm.Before(at(8, 20, 0)); tm = tm.Add(30 * time.Second) {
		s.add(b, wire.Result{Time: tm, OK: tm.Before(at(7, 41, 0)), Kind: "tcp"})
	}
	if len(s.d) == 0 {
		t.Fatal("no rows stored")
	}
	utc := func(ctx context.Context, res time.Duration, from, to time.Time, fn func(Row) error) error {
		return s.source()(ctx, res, from, to, func(r Row) error {
			r.Bucket = r.Bucket.UTC()
			return fn(r)
		})
	}
	wib := time.FixedZone("WIB", 7*3600)
	q := Query{From: at(8, 5, 0).In(wib), To: at(8, 20, 0).In(wib), Now: at(8, 20, 0).In(wib)}
	since, err := BlankSince(context.Background(), Source(utc), DefaultThresholds, q,
		func(c rollup.Cell) []string { return []string{c.Region} })
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]time.Time{"99.01.01": at(8, 3, 0), "99.02.01": at(7, 41, 0)} {
		if got, ok := since[code]; !ok || !got.Equal(want) {
			t.Errorf("%s blank since %v (found %v), want %v", code, got, ok, want)
		}
	}
}

// TestCause: a region whose uplink fails is blamed on its uplink, even
// though its e-services fail too; one whose uplink works names the
// e-service that fails from it, not the one that works.
func TestCause(t *testing.T) {
	e := newEngine(t)
	s := &rows{rollup.Delta{}}
	cell := func(region, service string) rollup.Cell {
		return rollup.Cell{Region: region, Service: service, Kind: "http", Probe: region}
	}
	feed(s, cell("99.01.01", rollup.Uplink), time.Hour, never, flat(5))
	feed(s, cell("99.01.01", "sso"), time.Hour, never, flat(5))
	feed(s, cell("99.02.01", rollup.Uplink), time.Hour, always, flat(5))
	feed(s, cell("99.02.01", "sso"), time.Hour, never, flat(5))
	feed(s, cell("99.02.01", "pajak"), time.Hour, always, flat(5))
	v, err := e.Services(context.Background(), s.source(), 3, Query{From: now.Add(-time.Hour), To: now, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Cells) != 5 {
		t.Fatalf("services view has %d cells, want the 5 fed", len(v.Cells))
	}
	if c := v.Cause("99.01.01", DefaultThresholds); !c.UplinkDown || len(c.Services) != 0 {
		t.Errorf("99.01.01: %+v, want the uplink down and no e-service blamed", c)
	}
	if c := v.Cause("99.02.01", DefaultThresholds); c.UplinkDown || !slices.Equal(c.Services, []string{"sso"}) {
		t.Errorf("99.02.01: %+v, want sso failing while the uplink works", c)
	}
	if c := v.Cause("99.02.02", DefaultThresholds); c.Known() {
		t.Errorf("99.02.02 without results: %+v, want nothing known", c)
	}
}
