package probe

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
)

// benchResults are n http results of distinct checks, as a probe with n
// http targets records them.
func benchResults(n int) []wire.Result {
	rs := make([]wire.Result, n)
	for i := range rs {
		rs[i] = wire.Result{Time: time.Unix(1_790_000_000, 0), Check: fmt.Sprintf("eservice-%03d", i), Kind: wire.KindHTTP,
			Target: fmt.Sprintf("https://layanan-%03d.kab.go.id/", i), OK: i%10 != 0, DurationMS: 312.5, StatusCode: 200,
			Phases: map[string]float64{"resolve": 4, "connect": 30, "tls": 60, "processing": 200, "transfer": 18.5, "cert_expiry_days": 40}}
		if !rs[i].OK {
			rs[i].ErrorClass = wire.ClassTimeout
		}
	}
	return rs
}

// benchMetrics registers the probe's metrics on a new registry. Without
// a spool (spool nil) they must not be gathered.
func benchMetrics(b *testing.B, sp *spool.Spool) (*metrics, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, sp)
	if err != nil {
		b.Fatal(err)
	}
	return m, reg
}

// BenchmarkRecordResult is the cost of one result of a check that has
// reported before: what every check run pays.
func BenchmarkRecordResult(b *testing.B) {
	m, _ := benchMetrics(b, nil)
	rs := benchResults(500)
	for _, r := range rs {
		m.result(r)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.result(rs[i%len(rs)])
		i++
	}
}

// BenchmarkCheckMetricsHeap reports the live heap the per-check series of
// 500 http checks hold (heap-B/check), measured after GC.
func BenchmarkCheckMetricsHeap(b *testing.B) {
	const n = 500
	rs := benchResults(n)
	var perCheck float64
	for b.Loop() {
		b.StopTimer()
		m, _ := benchMetrics(b, nil)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for _, r := range rs {
			m.result(r)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perCheck = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		runtime.KeepAlive(m)
		b.StartTimer()
	}
	b.ReportMetric(perCheck, "heap-B/check")
}

// BenchmarkGatherCheckMetrics is one scrape of the registry of a probe
// whose 500 http checks have reported.
func BenchmarkGatherCheckMetrics(b *testing.B) {
	sp, err := spool.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sp.Close() })
	m, reg := benchMetrics(b, sp)
	for _, r := range benchResults(500) {
		m.result(r)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
