package influx

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// The view benchmark: 1,000,000 results over 24 h from 200 probes, each on
// its own desa and with 10 checks, written through Store.Write into a
// database kept between runs (JANGKAU_BENCH_VIEW_DB, default
// jangkau_bench_view1m; drop it to start afresh), then the store's part of
// a 24 h coverage view: the rows of every span of rollup.Plan, each merged
// into its cell, as the engine folds them.
//
//	go test ./collector/store/influx -run '^$' -bench View1M -benchtime 5x
const (
	viewProbes  = 200
	viewPerProb = 5000
)

var viewTo = time.Date(2026, 11, 27, 10, 17, 0, 0, time.UTC)

var viewOnce sync.Once

func viewStore(b *testing.B) *Store {
	b.Helper()
	cfg := Config{URL: os.Getenv("JANGKAU_INFLUXDB_URL"), Token: os.Getenv("JANGKAU_INFLUXDB_TOKEN"), CollectorID: "bench"}
	if cfg.URL == "" {
		b.Skip(`no InfluxDB: run eval "$(bash scripts/influxdb.sh start)"`)
	}
	db := os.Getenv("JANGKAU_BENCH_VIEW_DB")
	if db == "" {
		db = "jangkau_bench_view1m"
	}
	cfg.Bucket = db + "/rp"
	ctx := context.Background()
	admin, err := Open(ctx, Config{URL: cfg.URL, Token: cfg.Token, Bucket: os.Getenv("JANGKAU_INFLUXDB_BUCKET"), CollectorID: "bench"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if err := admin.exec(ctx, fmt.Sprintf(`CREATE DATABASE %s WITH DURATION INF NAME "rp"`, quoteIdent(db))); err != nil {
		b.Fatal(err)
	}
	st, err := Open(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	viewOnce.Do(func() {
		n := 0
		st.Scan(ctx, viewTo.Add(-24*time.Hour), viewTo, func(store.Record) error { n++; return errStop })
		if n > 0 {
			return
		}
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for p := range viewProbes {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := viewIngest(ctx, st, p); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		b.Logf("ingested %d results in %s", viewProbes*viewPerProb, time.Since(start).Round(time.Millisecond))
	})
	return st
}

var errStop = fmt.Errorf("stop")

func viewIngest(ctx context.Context, st *Store, p int) error {
	id := fmt.Sprintf("p%03d", p)
	desa := fmt.Sprintf("36.%02d.%02d.%04d", 1+p%8, 1+p%29, 2001+p)
	from := viewTo.Add(-24 * time.Hour)
	step := 24 * time.Hour / viewPerProb
	const size = 500
	for first := 0; first < viewPerProb; first += size {
		w := store.Write{Probe: id, Received: viewTo}
		for i := first; i < first+size && i < viewPerProb; i++ {
			r := wire.Result{Seq: uint64(i + 1), Time: from.Add(time.Duration(i) * step), Check: fmt.Sprintf("c%d", i%10),
				Kind: wire.KindHTTP, Service: fmt.Sprintf("svc%d", i%10), Target: "http://127.0.0.1/", OK: (i*7+p)%20 != 0,
				DurationMS: float64(20 + (i*13+p)%400)}
			if i%10 == 9 {
				r.Kind, r.Service, r.Phases = wire.KindICMP, "", map[string]float64{"loss": float64(i%4) / 4}
			}
			c := rollup.Cell{Region: desa, Tile: fmt.Sprintf("1321%04d", p), Carrier: []string{"tsel", "xl"}[p%2],
				Service: r.Service, Kind: r.Kind, Probe: id}
			if c.Service == "" {
				c.Service = rollup.Uplink
			}
			w.Results, w.Cells = append(w.Results, r), append(w.Cells, c)
		}
		if _, err := st.Write(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

func BenchmarkView1M(b *testing.B) {
	st := viewStore(b)
	defer st.Close()
	ctx := context.Background()
	from := viewTo.Add(-24 * time.Hour)
	var rows, count uint64
	for b.Loop() {
		cells := map[rollup.Cell]*rollup.Agg{}
		rows, count = 0, 0
		for _, sp := range rollup.Plan(from, viewTo) {
			err := st.Rollups(ctx, sp.Res, sp.From, sp.To, func(_ time.Time, c rollup.Cell, a *rollup.Agg) error {
				rows++
				if k := cells[c]; k == nil {
					cells[c] = a.Clone()
				} else if err := k.Merge(a); err != nil {
					return err
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, a := range cells {
			count += a.Count
		}
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(count), "results")
}

// BenchmarkFillView10M fills a database (JANGKAU_BENCH_VIEW_DB, default
// jangkau_bench_view10m) with the rollup points that 10,000,000 results
// over 24 h from BenchmarkView1M's 200 probes (50,000 each, as
// viewIngest makes them, 10 times as often) give, written straight as
// rollup points (JANGKAU_BENCH_VIEW_RESULTS sets another total): Store.Write of that many results takes most of an hour
// here, and views never read raw points (TestViewsNeverReadRaw). Each
// point is what the Write path's rebuild writes: the minute's results
// aggregated per tile, the hour's from its minutes. Then run
// BenchmarkEngineView1M with the same JANGKAU_BENCH_VIEW_DB.
//
//	JANGKAU_BENCH_VIEW_DB=jangkau_bench_view10m go test ./collector/store/influx -run '^$' -bench FillView10M -benchtime 1x
func BenchmarkFillView10M(b *testing.B) {
	perProbe := 50000
	if n, err := strconv.Atoi(os.Getenv("JANGKAU_BENCH_VIEW_RESULTS")); err == nil && n > 0 {
		perProbe = n / viewProbes
	}
	cfg := Config{URL: os.Getenv("JANGKAU_INFLUXDB_URL"), Token: os.Getenv("JANGKAU_INFLUXDB_TOKEN"), CollectorID: "bench"}
	if cfg.URL == "" {
		b.Skip(`no InfluxDB: run eval "$(bash scripts/influxdb.sh start)"`)
	}
	db := os.Getenv("JANGKAU_BENCH_VIEW_DB")
	if db == "" {
		db = "jangkau_bench_view10m"
	}
	ctx := context.Background()
	admin, err := Open(ctx, Config{URL: cfg.URL, Token: cfg.Token, Bucket: os.Getenv("JANGKAU_INFLUXDB_BUCKET"), CollectorID: "bench"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if err := admin.exec(ctx, fmt.Sprintf(`CREATE DATABASE %s WITH DURATION INF NAME "rp"`, quoteIdent(db))); err != nil {
		b.Fatal(err)
	}
	cfg.Bucket = db + "/rp"
	st, err := Open(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	from := viewTo.Add(-24 * time.Hour)
	var points int
	for b.Loop() {
		points = 0
		for p := range viewProbes {
			id := fmt.Sprintf("p%03d", p)
			desa := fmt.Sprintf("36.%02d.%02d.%04d", 1+p%8, 1+p%29, 2001+p)
			step := 24 * time.Hour / time.Duration(perProbe)
			minutes := map[pointKey]tileAggs{}
			for i := range perProbe {
				r := wire.Result{Time: from.Add(time.Duration(i) * step), Kind: wire.KindHTTP, Service: fmt.Sprintf("svc%d", i%10),
					OK: (i*7+p)%20 != 0, DurationMS: float64(20 + (i*13+p)%400)}
				if i%10 == 9 {
					r.Kind, r.Service, r.Phases = wire.KindICMP, rollup.Uplink, map[string]float64{"loss": float64(i%4) / 4}
				}
				k := pointKey{rollSeries{probe: id, region: desa, carrier: []string{"tsel", "xl"}[p%2], service: r.Service, kind: r.Kind},
					r.Time.Truncate(rollup.Minute).UnixNano()}
				t := minutes[k]
				if t == nil {
					t = tileAggs{}
					minutes[k] = t
				}
				t.add(fmt.Sprintf("1321%04d", p), &r)
			}
			hours := map[pointKey]tileAggs{}
			for k, t := range minutes {
				hk := pointKey{k.rollSeries, time.Unix(0, k.bucket).Truncate(rollup.Hour).UnixNano()}
				h := hours[hk]
				if h == nil {
					h = tileAggs{}
					hours[hk] = h
				}
				for tile, a := range t {
					if h[tile] == nil {
						h[tile] = rollup.NewAgg()
					}
					if err := h[tile].Merge(a); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := st.writePoints(ctx, measRollupMinute, minutes); err != nil {
				b.Fatal(err)
			}
			if err := st.writePoints(ctx, measRollupHour, hours); err != nil {
				b.Fatal(err)
			}
			points += len(minutes) + len(hours)
		}
	}
	b.ReportMetric(float64(points), "points")
}
