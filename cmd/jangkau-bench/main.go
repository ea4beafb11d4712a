// Command jangkau-bench measures the collector on loopback:
//
//	jangkau-bench ingest [-runs 3] [-senders 4] [-batches 50] [-batch 1000]
//	jangkau-bench drain  [-results 144000] [-rate 256000]
//	jangkau-bench coverage [-data DIR] [-results 10000000] [-probes 2000] [-runs 3]
//	jangkau-bench export   [-results 1000000] [-keep DIR]
//	jangkau-bench influx   [-runs 3] [-writers 4] [-batches 25] [-batch 1000]
//	jangkau-bench names    [-bin jangkau] [-names 150000] [-requests 15] [-influx]
//	jangkau-bench bigstring [-bin jangkau] [-concurrent 40]
//	jangkau-bench country  [-bin jangkau] [-data DIR] [-probes 20000] [-checks 10] [-every 1h] [-runs 2]
//	jangkau-bench views    [-regions banten-adm4.geojson] [-data DIR] [-results 10000000] [-repeats 15]
//	                       [-batch 5000] [-senders 4] [-reuse 1h] [-any-build] [-rollup-rebuild] [-bin jangkau]
//
// ingest reports the embedded store's raw insert rate (Store.Write of
// 1000-result batches from several goroutines), the end-to-end HTTP ingest
// rate (gzip batches from several concurrent senders, each its own probe)
// and their ratio, as medians of -runs runs. drain fills a real probe's
// spool with a day of results, starts the jangkau binary's probe and
// collector with a token-bucket relay between them, and compares the time
// to drain with the floor (compressed bytes ÷ link rate). coverage loads a
// day of results into an embedded store (kept in -data for reruns) and
// times the desa and tile coverage answer: cold, warm, while probes write
// into the window's running minute, and after a late backfill. views
// (views*.go) is issue 17's table: one seeded data set through the real
// binary's ingest API into an embedded collector and two collectors on
// one InfluxDB it starts, and COPYed into a PostGIS it starts, the three
// loaded at once with their progress shown, kept in -data for reruns
// (-any-build: by a newer binary); the desa
// coverage and services views timed cold (fresh collector process) and
// repeated, the embedded repeats while 2,000 results/s arrive, against
// PostGIS's best form of the same aggregate, with PASS or MISS per row.
//
// Traffic stays on 127.0.0.1; nothing is resolved.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/jangkau/jangkau/wire"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: jangkau-bench ingest|drain|coverage|export|influx|names|bigstring|country|views [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ingest":
		err = runIngest(os.Args[2:])
	case "drain":
		err = runDrain(os.Args[2:])
	case "coverage":
		err = runCoverage(os.Args[2:])
	case "export":
		err = runExport(os.Args[2:])
	case "influx":
		err = runInflux(os.Args[2:])
	case "names":
		err = runNames(os.Args[2:])
	case "bigstring":
		err = runBigString(os.Args[2:])
	case "country":
		err = runCountry(os.Args[2:])
	case "views":
		err = runViews(os.Args[2:])
	case "wire":
		err = runWire(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "jangkau-bench:", err)
		os.Exit(1)
	}
}

// typical is a successful http check as a probe makes it.
func typical(seq uint64, t time.Time) wire.Result {
	return wire.Result{
		Seq: seq, Time: t, Check: "perizinan", Kind: wire.KindHTTP,
		Target: "https://perizinan.bantenprov.go.id/", Service: "perizinan", OK: true,
		DurationMS: 182.417 + float64(seq%97), StatusCode: 200,
		Phases: map[string]float64{
			"resolve": 12.061, "connect": 31.226 + float64(seq%13), "tls": 64.903,
			"processing": 58.337, "transfer": 15.89,
		},
	}
}

// results makes n typical results from seq first, seq s at t0 + 10·s
// seconds, as a probe checking every 10 s makes them.
func results(first uint64, n int, t0 time.Time) []wire.Result {
	out := make([]wire.Result, n)
	for i := range out {
		seq := first + uint64(i)
		out[i] = typical(seq, t0.Add(time.Duration(seq)*10*time.Second))
	}
	return out
}

// gzipBatch encodes a batch as the probe's uploader does.
func gzipBatch(b wire.Batch) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// runWire prints the bytes on the wire per result of typical http results
// in gzip batches of several sizes.
func runWire(args []string) error {
	now := time.Now().UTC()
	for _, n := range []int{1, 10, 100, 1000} {
		body, err := gzipBatch(wire.Batch{Probe: "pdg-01", SentAt: now, FirstSeq: 1, Results: results(1, n, now.Add(-time.Duration(n)*10*time.Second))})
		if err != nil {
			return err
		}
		fmt.Printf("batch of %4d: %7d bytes gzip, %6.1f bytes/result\n", n, len(body), float64(len(body))/float64(n))
	}
	return nil
}
