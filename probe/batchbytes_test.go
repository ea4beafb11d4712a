package probe

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
)

// typicalHTTPResults are n results of 20 http checks run every 30 s,
// interleaved as the spool holds them, with the jitter of real timings.
func typicalHTTPResults(n int) []wire.Result {
	rng := rand.New(rand.NewPCG(7, 11))
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	rs := make([]wire.Result, n)
	for i := range rs {
		c := i % 20
		phase := func(mean float64) float64 { // as ms() makes it: nanosecond precision
			return float64(time.Duration(mean*(0.5+rng.Float64())*1e6)) / 1e6
		}
		r := wire.Result{
			Seq:    uint64(i + 1),
			Time:   start.Add(time.Duration(i/20)*30*time.Second + time.Duration(c)*1500*time.Millisecond + time.Duration(rng.IntN(1e9))),
			Check:  fmt.Sprintf("portal-%02d", c),
			Kind:   wire.KindHTTP,
			Target: fmt.Sprintf("https://layanan-%02d.bantenprov.go.id/", c),
			OK:     true, StatusCode: 200, Service: "perizinan",
			Phases: map[string]float64{"resolve": phase(3), "connect": phase(25), "tls": phase(60), "processing": phase(120), "transfer": phase(4)},
		}
		for _, v := range r.Phases {
			r.DurationMS += v
		}
		rs[i] = r
	}
	return rs
}

// BenchmarkBatchBytes reports the gzip bytes per result of a batch of
// 1000 typical http results as the sink spools them (quantized): go test
// ./probe -run XXX -bench BenchmarkBatchBytes. rawGzipB/result is the same
// batch with the nanosecond digits the checks measure.
func BenchmarkBatchBytes(b *testing.B) {
	raw := typicalHTTPResults(1000)
	rawBody, _ := encodeBatch(wire.Batch{Probe: "pdg-01", SentAt: time.Now().UTC(), FirstSeq: 1, Results: raw})
	rs := typicalHTTPResults(1000)
	for i := range rs {
		quantize(&rs[i])
	}
	batch := wire.Batch{Probe: "pdg-01", SentAt: time.Now().UTC(), FirstSeq: 1, Results: rs}
	var size int
	for b.Loop() {
		body, err := encodeBatch(batch)
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	js, _ := json.Marshal(batch)
	b.ReportMetric(float64(size)/float64(len(rs)), "gzipB/result")
	b.ReportMetric(float64(len(js))/float64(len(rs)), "jsonB/result")
	b.ReportMetric(float64(len(rawBody))/float64(len(rs)), "rawGzipB/result")
}
