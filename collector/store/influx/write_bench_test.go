package influx

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/wire"
)

// BenchmarkWriteLive is the live write path of a probe with 10 checks
// that reports each result as it comes (a Write of one result), into an
// hour that already holds 50 minutes of all ten checks' results: what a
// Write's rollup rebuild rereads (the minute's raw points, the hour's
// minute points) is the cost. A database of its own, dropped at the end.
//
//	go test ./collector/store/influx -run '^$' -bench WriteLive -benchtime 200x
func BenchmarkWriteLive(b *testing.B) {
	cfg := Config{URL: os.Getenv("JANGKAU_INFLUXDB_URL"), Token: os.Getenv("JANGKAU_INFLUXDB_TOKEN"), CollectorID: "bench"}
	if cfg.URL == "" {
		b.Skip(`no InfluxDB: run eval "$(bash scripts/influxdb.sh start)"`)
	}
	ctx := context.Background()
	admin, err := Open(ctx, Config{URL: cfg.URL, Token: cfg.Token, Bucket: os.Getenv("JANGKAU_INFLUXDB_BUCKET"), CollectorID: "bench"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	db := fmt.Sprintf("jangkau_bench_live_%d", time.Now().UnixNano())
	if err := admin.exec(ctx, fmt.Sprintf(`CREATE DATABASE %s WITH DURATION INF NAME "rp"`, quoteIdent(db))); err != nil {
		b.Fatal(err)
	}
	defer admin.exec(context.Background(), "DROP DATABASE "+quoteIdent(db))
	cfg.Bucket = db + "/rp"
	st, err := Open(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	result := func(seq uint64) (wire.Result, rollup.Cell) {
		i := seq - 1
		r := wire.Result{Seq: seq, Time: t0.Add(time.Duration(i/10) * 6 * time.Second), Check: fmt.Sprintf("c%d", i%10),
			Kind: wire.KindHTTP, Service: fmt.Sprintf("svc%d", i%10), Target: "http://127.0.0.1/", OK: i%7 != 0, DurationMS: float64(20 + i%300)}
		return r, rollup.Cell{Region: "36.01.05.2003", Tile: "13210123", Carrier: "tsel", Service: r.Service, Kind: r.Kind, Probe: "p"}
	}
	write := func(first, n uint64) {
		w := store.Write{Probe: "p", Received: t0}
		for s := first; s < first+n; s++ {
			r, c := result(s)
			w.Results, w.Cells = append(w.Results, r), append(w.Cells, c)
		}
		if _, err := st.Write(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	const filled = 50 * 10 * 10 // 50 minutes, 10 checks every 6 s
	for s := uint64(1); s <= filled; s += 500 {
		write(s, 500)
	}
	seq := uint64(filled)
	for b.Loop() {
		seq++
		if seq > 600*10 {
			b.Fatal("past the hour: use a -benchtime of at most 1000x")
		}
		write(seq, 1)
	}
}
