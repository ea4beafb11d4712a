package influx_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store/influx"
	"github.com/jangkau/jangkau/geo/region"
	"github.com/jangkau/jangkau/geo/tile"
)

// viewRegions are the 200 desa of BenchmarkView1M's probes (the same codes
// as viewIngest gives them), as small squares on a grid.
func viewRegions(b *testing.B) *region.Regions {
	var desa []*region.Region
	for p := range 200 {
		lon, lat := 105+float64(p%20)*0.02, -6.5+float64(p/20)*0.02
		desa = append(desa, &region.Region{Code: fmt.Sprintf("36.%02d.%02d.%04d", 1+p%8, 1+p%29, 2001+p), Population: 1000, PopulationKnown: true,
			Geometry: orb.Polygon{{{lon, lat}, {lon + 0.01, lat}, {lon + 0.01, lat + 0.01}, {lon, lat + 0.01}, {lon, lat}}}})
	}
	rs, err := region.New(desa)
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

// BenchmarkEngineView1M is the coverage engine's 24 h desa view (level 4)
// over the database BenchmarkView1M
// filled (run that first), fed as the collector feeds it: through
// coverage.NewGenerationSource with the store's RollupGeneration. Cold is
// a fresh engine; repeat is the same engine again with nothing written,
// which keeps its folds.
//
//	go test ./collector/store/influx -run '^$' -bench 'View1M' -benchtime 5x
func BenchmarkEngineView1M(b *testing.B) {
	url := os.Getenv("JANGKAU_INFLUXDB_URL")
	if url == "" {
		b.Skip(`no InfluxDB: run eval "$(bash scripts/influxdb.sh start)"`)
	}
	db := os.Getenv("JANGKAU_BENCH_VIEW_DB")
	if db == "" {
		db = "jangkau_bench_view1m"
	}
	ctx := context.Background()
	// A fresh store for each cold view (a fresh collector): the store
	// keeps hours of minute points for a while (chunks.go).
	open := func() (*influx.Store, *coverage.GenerationSource) {
		st, err := influx.Open(ctx, influx.Config{URL: url, Token: os.Getenv("JANGKAU_INFLUXDB_TOKEN"), Bucket: db + "/rp", CollectorID: "bench"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		read := coverage.Source(func(ctx context.Context, res time.Duration, from, to time.Time, fn func(coverage.Row) error) error {
			return st.Rollups(ctx, res, from, to, func(bk time.Time, c rollup.Cell, a *rollup.Agg) error {
				return fn(coverage.Row{Bucket: bk, Res: res, Cell: c, Agg: a})
			})
		})
		return st, coverage.NewGenerationSource(read, st.RollupGeneration)
	}
	rs := viewRegions(b)
	to := time.Date(2026, 11, 27, 10, 17, 0, 0, time.UTC)
	q := coverage.Query{From: to.Add(-24 * time.Hour), To: to, Now: to.Add(time.Hour)}
	view := func(e *coverage.Engine, feed coverage.Feed) int {
		cells, err := e.Regions(ctx, feed, nil, 4, q)
		if err != nil {
			b.Fatal(err)
		}
		samples := 0
		for _, c := range cells {
			samples += c.Samples
		}
		return samples
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			st, feed := open()
			e := coverage.NewEngine(rs, tile.NewIndex(rs), 15, coverage.DefaultThresholds)
			b.StartTimer()
			if n := view(e, feed); n == 0 {
				b.Fatal("no samples: run BenchmarkView1M first to fill the database")
			}
			st.Close()
		}
	})
	b.Run("repeat", func(b *testing.B) {
		st, feed := open()
		defer st.Close()
		e := coverage.NewEngine(rs, tile.NewIndex(rs), 15, coverage.DefaultThresholds)
		want := view(e, feed)
		for b.Loop() {
			if n := view(e, feed); n != want {
				b.Fatalf("repeat counted %d samples, the first view %d", n, want)
			}
		}
	})
}
