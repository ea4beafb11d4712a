package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/collector/store/influx"
	"github.com/jangkau/jangkau/wire"
)

// runInflux is `jangkau-bench influx`: the InfluxDB store's ingest
// (Store.Write of batches from several goroutines, each its own probe)
// against writing the same points straight through the client's blocking
// write API, in the same run, into fresh databases of the InfluxDB that
// scripts/influxdb.sh started (JANGKAU_INFLUXDB_URL, _TOKEN).
func runInflux(args []string) error {
	fs := flag.NewFlagSet("influx", flag.ContinueOnError)
	runs := fs.Int("runs", 3, "runs; the figures are medians")
	writers := fs.Int("writers", 4, "concurrent writers, each its own probe")
	batches := fs.Int("batches", 25, "batches per writer per run")
	size := fs.Int("batch", 1000, "results per batch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ix := influxEnv{url: os.Getenv("JANGKAU_INFLUXDB_URL"), token: os.Getenv("JANGKAU_INFLUXDB_TOKEN")}
	if ix.url == "" {
		return fmt.Errorf(`no InfluxDB: run eval "$(bash scripts/influxdb.sh start)" first`)
	}
	var viaStore, direct, lines, ratio, ratioLines []float64
	for run := 1; run <= *runs; run++ {
		ways := []struct {
			name string
			rate func(bucket string) (float64, error)
		}{
			{"store", func(b string) (float64, error) { return influxStoreRate(ix, b, *writers, *batches, *size) }},
			{"direct", func(b string) (float64, error) { return influxDirectRate(ix, b, *writers, *batches, *size, false) }},
			{"lines", func(b string) (float64, error) { return influxDirectRate(ix, b, *writers, *batches, *size, true) }},
		}
		got := make([]float64, len(ways))
		// The order turns each run, so that neither side always meets a
		// warmer (or busier) server.
		for k := range ways {
			i := (k + run) % len(ways)
			r, err := ix.fresh(fmt.Sprintf("jangkau_bench_%s_%d", ways[i].name, run), ways[i].rate)
			if err != nil {
				return err
			}
			got[i] = r
		}
		viaStore, direct, lines = append(viaStore, got[0]), append(direct, got[1]), append(lines, got[2])
		ratio, ratioLines = append(ratio, got[0]/got[1]), append(ratioLines, got[0]/got[2])
		fmt.Printf("run %d: store %.0f results/s, direct WritePoint %.0f points/s (ratio %.2f), direct pre-encoded lines %.0f points/s (ratio %.2f)\n",
			run, got[0], got[1], got[0]/got[1], got[2], got[0]/got[2])
	}
	fmt.Printf("median of %d: store %.0f results/s, direct WritePoint %.0f points/s (ratio %.2f), direct pre-encoded lines %.0f points/s (ratio %.2f); writers %d, batch %d, %d results per run\n",
		*runs, median(viaStore), median(direct), median(ratio), median(lines), median(ratioLines), *writers, *size, *writers**batches**size)
	return nil
}

type influxEnv struct{ url, token string }

// fresh runs fn on a new database (infinite retention) and drops it after.
func (ix influxEnv) fresh(db string, fn func(bucket string) (float64, error)) (float64, error) {
	db = fmt.Sprintf("%s_%d", db, time.Now().UnixNano())
	if err := ix.exec(fmt.Sprintf(`CREATE DATABASE %q WITH DURATION INF NAME "rp"`, db)); err != nil {
		return 0, err
	}
	defer ix.exec(fmt.Sprintf("DROP DATABASE %q", db))
	return fn(db + "/rp")
}

func (ix influxEnv) exec(q string) error {
	req, err := http.NewRequest(http.MethodPost, ix.url+"/query", strings.NewReader(url.Values{"q": {q}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Token "+ix.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), `"error"`) {
		return fmt.Errorf("%s: HTTP %d %s", q, resp.StatusCode, b)
	}
	return nil
}

// benchWrites are the batches of each writer, with the cells the collector
// would give them.
func benchWrites(writers, batches, size int) [][]store.Write {
	t0 := time.Now().UTC().Add(-time.Duration(batches*size) * 10 * time.Second).Truncate(time.Millisecond)
	work := make([][]store.Write, writers)
	for s := range work {
		id := fmt.Sprintf("p%02d", s)
		for b := range batches {
			w := store.Write{Probe: id, Received: time.Now(), Results: results(uint64(b*size+1), size, t0)}
			w.Cells = make([]rollup.Cell, size)
			for i, r := range w.Results {
				w.Cells[i] = rollup.Cell{Region: "36.01.05.2003", Carrier: "telkomsel", Service: r.Service, Kind: r.Kind, Probe: id}
			}
			work[s] = append(work[s], w)
		}
	}
	return work
}

func influxStoreRate(ix influxEnv, bucket string, writers, batches, size int) (float64, error) {
	st, err := influx.Open(context.Background(), influx.Config{URL: ix.url, Token: ix.token, Bucket: bucket}, nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	work := benchWrites(writers, batches, size)
	return timed(writers, batches*size, func(s int) error {
		for _, w := range work[s] {
			res, err := st.Write(context.Background(), w)
			if err != nil {
				return err
			}
			if res.Stored != len(w.Results) {
				return fmt.Errorf("stored %d of %d", res.Stored, len(w.Results))
			}
		}
		return nil
	})
}

// influxDirectRate writes the same points straight through the client's
// blocking write API, each batch one write: as write.Points (the client
// encodes them), or pre-encoded (only the transfer and InfluxDB count).
func influxDirectRate(ix influxEnv, bucket string, writers, batches, size int, preEncoded bool) (float64, error) {
	opts := influxdb2.DefaultOptions().SetPrecision(time.Millisecond).SetApplicationName("jangkau-bench")
	opts.HTTPOptions().HTTPClient().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	client := influxdb2.NewClientWithOptions(ix.url, ix.token, opts)
	defer client.Close()
	wapi := client.WriteAPIBlocking("", bucket)
	work := benchWrites(writers, batches, size)
	points := make([][][]*write.Point, writers)
	for s, ws := range work {
		for _, w := range ws {
			var ps []*write.Point
			for i := range w.Results {
				ps = append(ps, benchPoint(w.Probe, &w.Results[i], w.Cells[i]))
			}
			points[s] = append(points[s], ps)
		}
	}
	encoded := make([][]string, writers)
	if preEncoded {
		for s := range points {
			for _, ps := range points[s] {
				var b strings.Builder
				for _, p := range ps {
					b.WriteString(write.PointToLineProtocol(p, time.Millisecond))
				}
				encoded[s] = append(encoded[s], b.String())
			}
		}
	}
	return timed(writers, batches*size, func(s int) error {
		for i, ps := range points[s] {
			var err error
			if preEncoded {
				err = wapi.WriteRecord(context.Background(), encoded[s][i])
			} else {
				err = wapi.WritePoint(context.Background(), ps...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// benchPoint is the point the store writes for r: the same measurement,
// tags and fields.
func benchPoint(probeID string, r *wire.Result, c rollup.Cell) *write.Point {
	tags := map[string]string{"probe": probeID, "check": r.Check, "kind": r.Kind, "service": c.Service,
		"carrier": c.Carrier, "region": c.Region, "kab": "36.01"}
	fields := map[string]any{"seq": int64(r.Seq), "ok": r.OK, "duration_ms": r.DurationMS, "target": r.Target}
	if r.StatusCode != 0 {
		fields["status_code"] = int64(r.StatusCode)
	}
	for k, v := range r.Phases {
		fields["phase_"+k] = v
	}
	return write.NewPoint("jangkau_result", tags, fields, r.Time)
}
