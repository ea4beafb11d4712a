package influx

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// TestMsgpackSameAsJSON: the store reads the same rollups, raw results
// and probe states from InfluxDB's MessagePack answer as from its JSON
// answer, and the server does answer MessagePack.
func TestMsgpackSameAsJSON(t *testing.T) {
	cfg := freshDatabase(t)
	mp, js := open(t, cfg), open(t, cfg)
	defer mp.Close()
	defer js.Close()
	js.accept = "application/json"
	ctx := context.Background()

	rs := batch(1, 200)
	for i := range rs {
		if i%4 == 3 {
			rs[i].Kind, rs[i].Service, rs[i].Phases = wire.KindICMP, "", map[string]float64{"loss": float64(i%3) / 3}
		}
		if i%7 == 0 {
			rs[i].Location = &wire.Location{Lat: -6.1 - float64(i)/1000, Lon: 106.2}
		}
	}
	cells := make([]rollup.Cell, len(rs))
	for i, r := range rs {
		cells[i] = rollup.Cell{Region: "36.01.05", Tile: []string{"1321", "1320"}[i%2], Carrier: "tsel", Service: r.Service, Kind: r.Kind, Probe: "p"}
		if cells[i].Service == "" {
			cells[i].Service = rollup.Uplink
		}
	}
	if _, err := mp.Write(ctx, store.Write{Probe: "p", Results: rs, Cells: cells, Received: t0}); err != nil {
		t.Fatal(err)
	}

	req, err := http.NewRequest(http.MethodPost, mp.url+"/query", strings.NewReader(url.Values{"q": {"SHOW DATABASES"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", msgpackAccept)
	req.Header.Set("Authorization", "Token "+mp.token)
	resp, err := mp.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != msgpackType {
		t.Fatalf("InfluxDB answered Content-Type %q to Accept %q, want %q", ct, msgpackAccept, msgpackType)
	}

	for _, res := range []time.Duration{rollup.Minute, rollup.Hour} {
		a, b := rollupRows(t, mp, res, t0, t0.Add(2*time.Hour)), rollupRows(t, js, res, t0, t0.Add(2*time.Hour))
		if len(a) == 0 {
			t.Fatalf("no %s rollups after writing %d results", res, len(rs))
		}
		if !slices.Equal(a, b) {
			t.Errorf("%s rollups from MessagePack:\n%s\nfrom JSON:\n%s", res, strings.Join(a, "\n"), strings.Join(b, "\n"))
		}
	}
	a, b := scan(t, mp), scan(t, js)
	if len(a) != len(rs) {
		t.Fatalf("scan from MessagePack: %d results, wrote %d", len(a), len(rs))
	}
	for i := range a {
		if !sameRecord(a[i], b[i]) {
			t.Errorf("result %d from MessagePack %+v, from JSON %+v", i, a[i], b[i])
		}
	}
	pa, err := mp.Probes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := js.Probes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pa) != 1 || pa[0].LastSeq != uint64(len(rs)) {
		t.Fatalf("probes from MessagePack %+v, want p with last seq %d", pa, len(rs))
	}
	if !slices.EqualFunc(pa, pb, func(x, y store.ProbeState) bool {
		same := x.LastSeen.Equal(y.LastSeen)
		x.LastSeen, y.LastSeen = time.Time{}, time.Time{}
		return same && x == y
	}) {
		t.Errorf("probes from MessagePack %+v, from JSON %+v", pa, pb)
	}
}

func sameRecord(x, y store.Record) bool {
	if (x.Location == nil) != (y.Location == nil) || x.Location != nil && *x.Location != *y.Location {
		return false
	}
	x.Location, y.Location = nil, nil
	if !x.Time.Equal(y.Time) || len(x.Phases) != len(y.Phases) {
		return false
	}
	for k, v := range x.Phases {
		if y.Phases[k] != v {
			return false
		}
	}
	x.Time, y.Time, x.Phases, y.Phases = time.Time{}, time.Time{}, nil, nil
	return x.Probe == y.Probe && x.Result.Seq == y.Result.Seq && x.Check == y.Check && x.Kind == y.Kind &&
		x.Target == y.Target && x.Service == y.Service && x.OK == y.OK && x.DurationMS == y.DurationMS &&
		x.StatusCode == y.StatusCode && x.ErrorClass == y.ErrorClass && x.Error == y.Error
}
