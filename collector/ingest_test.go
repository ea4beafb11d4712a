package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/rollup"
	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/wire"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestIngestThrottlesPerProbe(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limits.ProbeRequestsPerSecond, c.Limits.ProbeBurst = 0.5, 2
	})
	body := gz(t, wire.Batch{Probe: "west", Results: results(1, 1, f.now, true, 10)})
	for i := range 2 {
		if code, _, raw := f.post("tok-west", body); code != 200 {
			t.Fatalf("request %d within the burst: %d %s", i, code, raw)
		}
	}
	code, hdr, raw := f.postHeader("tok-west", body)
	if code != 429 || hdr != "2" || !strings.Contains(raw, "limits.probe_requests_per_second") {
		t.Errorf("over the burst: %d Retry-After %q %s; want 429, Retry-After 2 (1 token at 0.5/s), a reason", code, hdr, raw)
	}
	// Another probe has its own bucket.
	east := gz(t, wire.Batch{Probe: "east", Results: results(1, 1, f.now, true, 10)})
	if code, _, raw := f.post("tok-east", east); code != 200 {
		t.Errorf("east throttled with west: %d %s", code, raw)
	}
	if n := value(t, f.srv.metrics.ingestThrottled.WithLabelValues("west")); n != 1 {
		t.Errorf("jangkau_ingest_throttled_total{probe=west} = %g, want 1", n)
	}
	if n := value(t, f.srv.metrics.ingestThrottled.WithLabelValues("east")); n != 0 {
		t.Errorf("jangkau_ingest_throttled_total{probe=east} = %g, want 0", n)
	}
}

func TestIngestClockRule(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Clock = ClockConfig{MaxAhead: time.Minute, MaxAge: 48 * time.Hour} })
	mk := func(seq uint64, at time.Time) wire.Result {
		r := results(seq, 1, f.now, true, 10)[0]
		r.Time = at
		return r
	}
	rs := []wire.Result{
		mk(1, f.now.Add(59*time.Second)),  // within max_ahead
		mk(2, f.now.Add(61*time.Second)),  // past it
		mk(3, f.now.Add(-47*time.Hour)),   // within max_age
		mk(4, f.now.Add(-49*time.Hour)),   // past it
		mk(5, time.Unix(0, 0).UTC()),      // a clock never set
		mk(6, f.now.Add(-24*time.Hour*8)), // past it
	}
	code, ir, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: rs}))
	if code != 200 || ir.Stored != 2 || ir.AckedSeq != 6 {
		t.Fatalf("status %d %s; want 2 stored and acked 6", code, raw)
	}
	want := map[uint64]string{2: "clock.max_ahead", 4: "clock.max_age", 5: "clock.max_age", 6: "clock.max_age"}
	for _, rej := range ir.Rejected {
		if rej.Field != "time" || !strings.Contains(rej.Reason, want[rej.Seq]) {
			t.Errorf("rejection %+v, want field time naming %s", rej, want[rej.Seq])
		}
		delete(want, rej.Seq)
	}
	if len(want) > 0 {
		t.Errorf("not rejected: %v", want)
	}
}

func TestClockDefaults(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	oldest, newest := ClockConfig{}.bounds(now)
	if !newest.Equal(now.Add(5*time.Minute)) || !oldest.Equal(now.Add(-90*24*time.Hour)) {
		t.Errorf("defaults: oldest %s newest %s", oldest, newest)
	}
}

func TestClockConfig(t *testing.T) {
	for _, tc := range []struct{ yaml, wantErr string }{
		{"clock: {max_ahead: 10m, max_age: 720h}", ""},
		{"clock: {max_ahead: 500ms}", "clock.max_ahead (500ms)"},
		{"clock: {max_ahead: 25h}", "clock.max_ahead (25h0m0s)"},
		{"clock: {max_age: 30m}", "clock.max_age (30m0s)"},
		{"clock: {max_age: -1h}", "clock.max_age (-1h0m0s)"},
		{"clock: {max_skew: 1m}", "max_skew"},
	} {
		t.Run(tc.yaml, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), t.TempDir())
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("ParseConfig: %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestClockOffsetEstimate(t *testing.T) {
	f := newFixture(t, nil)
	// The probe is 3 s ahead; batches spend 0.2 to 1.5 s on the way.
	for i, delay := range []time.Duration{1500, 200, 900} {
		sent := f.now.Add(3 * time.Second)
		f.now = f.now.Add(delay * time.Millisecond)
		b := wire.Batch{Probe: "west", SentAt: sent, Results: results(uint64(i+1), 1, f.now, true, 10)}
		if code, _, raw := f.post("tok-west", gz(t, b)); code != 200 {
			t.Fatalf("%d %s", code, raw)
		}
		f.now = sent.Add(time.Minute - 3*time.Second)
	}
	d, ok := f.srv.clock.estimate("west")
	if !ok || d != 2800*time.Millisecond {
		t.Errorf("offset %s, want 2.8s (3 s minus the least delay)", d)
	}
	if _, ok := f.srv.clock.estimate("east"); ok {
		t.Error("east has an offset without a batch")
	}
	if got := value(t, f.srv.clock); got != 2.8 {
		t.Errorf("jangkau_probe_clock_offset_seconds = %g, want 2.8", got)
	}
}

func TestDecodeBatchShapes(t *testing.T) {
	rules := batchRules{oldest: time.Unix(0, 0), newest: time.Now().Add(time.Hour), maxResults: 3}
	for _, tc := range []struct {
		name, body, wantErr string
		stored, rejected    int
	}{
		{"empty", `{}`, "", 0, 0},
		{"null results", `{"results": null}`, "", 0, 0},
		{"unknown key kept out", `{"probe":"a","x":[1,{"y":2}],"results":[]}`, "", 0, 0},
		{"one good one bad", `{"results":[{"seq":1,"time":"2026-01-01T00:00:00Z","check":"c","kind":"tcp","target":"t"},{"seq":2,"time":"soon"}]}`, "", 1, 1},
		{"not an object", `[1]`, "batch", 0, 0},
		{"results twice", `{"results":[],"results":[]}`, "twice", 0, 0},
		{"trailing data", `{} {}`, "after the batch", 0, 0},
		{"syntax error in a result", `{"results":[{"seq":1,}]}`, "batch", 0, 0},
		{"too many", `{"results":[{},{},{},{},{}]}`, "5 results, limits.max_results is 3", 0, 0},
		{"bad sent_at", `{"sent_at": 5}`, "sent_at", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := decodeBatch(strings.NewReader(tc.body), rules)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(b.Results) != tc.stored || len(b.Rejected) != tc.rejected {
				t.Errorf("got %+v, %v; want %d good, %d rejected", b, err, tc.stored, tc.rejected)
			}
		})
	}
}

// postHeader is post that also returns the Retry-After header.
func (f *fixture) postHeader(token string, body []byte) (int, string, string) {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.http.URL+"/api/v1/ingest", bytes.NewReader(body))
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(raw)
}

// value reads the one counter or gauge that c collects (testutil.ToFloat64
// without its extra module).
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	var out []float64
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		switch {
		case pb.Counter != nil:
			out = append(out, pb.Counter.GetValue())
		case pb.Gauge != nil:
			out = append(out, pb.Gauge.GetValue())
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d metrics collected, want 1", len(out))
	}
	return out[0]
}

// probeState reads one probe's state from the fixture's store.
func (f *fixture) probeState(id string) store.ProbeState {
	f.t.Helper()
	ps, err := f.srv.store.Probes(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == id {
			return p
		}
	}
	f.t.Fatalf("probe %s not in %+v", id, ps)
	return store.ProbeState{}
}

// Issue 14, item 1: an empty batch with first_seq 2^63 settled every seq
// below it as lost, and every later real result was a "duplicate".
func TestIngestRefusesFirstSeqPastMaxGap(t *testing.T) {
	f := newFixture(t, nil)
	if code, _, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 3, f.now, true, 10)})); code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	for _, first := range []uint64{1 << 63, 1<<64 - 1, 3 + 1 + DefaultConfig.Limits.MaxSeqGap + 1} {
		code, _, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", FirstSeq: first}))
		want := fmt.Sprintf("first_seq (%d) is more than limits.max_seq_gap (%d) above acked_seq (3)", first, DefaultConfig.Limits.MaxSeqGap)
		if code != 400 || !strings.Contains(raw, want) {
			t.Errorf("empty batch with first_seq %d: %d %s; want 400 with %q", first, code, raw, want)
		}
	}
	if ps := f.probeState("west"); ps.AckedSeq != 3 || ps.Lost != 0 {
		t.Errorf("after refused batches: %+v, want acked 3, none lost", ps)
	}
	code, ir, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", FirstSeq: 4, Results: results(4, 2, f.now, true, 10)}))
	if code != 200 || ir.Stored != 2 || ir.AckedSeq != 5 {
		t.Errorf("the next real batch: %d %s; want 2 stored, acked 5", code, raw)
	}
	// Exactly max_seq_gap seqs may be settled in one batch.
	first := 5 + 1 + DefaultConfig.Limits.MaxSeqGap
	code, ir, raw = f.post("tok-west", gz(t, wire.Batch{Probe: "west", FirstSeq: first, Results: results(first, 1, f.now, true, 10)}))
	if code != 200 || ir.AckedSeq != first || f.probeState("west").Lost != DefaultConfig.Limits.MaxSeqGap {
		t.Errorf("first_seq %d after acked 5: %d %s, lost %d; want acked %d, %d lost", first, code, raw,
			f.probeState("west").Lost, first, DefaultConfig.Limits.MaxSeqGap)
	}
}

// Issue 14, item 2: seq 2^64-1 then first_seq=2 wrapped acked_seq to 1 and
// stored seqs 2 and 3 twice.
func TestIngestRejectsSeqAboveMaxSeq(t *testing.T) {
	f := newFixture(t, nil)
	f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: results(1, 3, f.now, true, 10)}))
	rs := results(4, 3, f.now, true, 10)
	rs[0].Seq, rs[1].Seq = 1<<64-1, 1<<63 // rs[2] is seq 6
	code, ir, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: rs}))
	if code != 200 || ir.Stored != 1 || len(ir.Rejected) != 2 {
		t.Fatalf("%d %s; want 200, seq 6 stored, 2 rejected", code, raw)
	}
	for i, rej := range ir.Rejected {
		if rej.Field != "seq" || rej.Seq != rs[i].Seq || !strings.Contains(rej.Reason, fmt.Sprint(rs[i].Seq)) {
			t.Errorf("rejection %+v, want field seq naming %d", rej, rs[i].Seq)
		}
	}
	code, ir, raw = f.post("tok-west", gz(t, wire.Batch{Probe: "west", FirstSeq: 2, Results: results(2, 2, f.now, true, 10)}))
	if code != 200 || ir.Stored != 0 || ir.Duplicates != 2 || ir.AckedSeq != 3 {
		t.Errorf("seqs 2, 3 again with first_seq 2: %d %s; want 2 duplicates, acked 3", code, raw)
	}
	n := 0
	f.srv.store.Scan(context.Background(), f.now.Add(-time.Hour), f.now.Add(time.Hour), func(store.Record) error { n++; return nil })
	if ps := f.probeState("west"); n != 4 || ps.AckedSeq != 3 || ps.LastSeq != 6 {
		t.Errorf("%d results stored, state %+v; want 4 (1, 2, 3, 6), acked 3, last 6", n, ps)
	}
}

// Issue 14, item 12: loss 1e305 (or 5) was stored, and every view over
// its hour answered 500.
func TestIngestPhysicalBounds(t *testing.T) {
	f := newFixture(t, nil)
	icmp := func(phases map[string]float64) func(*wire.Result) {
		return func(r *wire.Result) { r.Kind, r.Phases = wire.KindICMP, phases }
	}
	for i, tc := range []struct {
		name, field, value string // value: what the reason must name; "" for a result that is good
		mutate             func(*wire.Result)
	}{
		{"loss 5", "phases.loss", "5", icmp(map[string]float64{"loss": 5})},
		{"loss 1e305", "phases.loss", "1e+305", icmp(map[string]float64{"loss": 1e305})},
		{"loss below 0", "phases.loss", "-0.1", icmp(map[string]float64{"loss": -0.1})},
		{"sent not whole", "phases.sent", "1.5", icmp(map[string]float64{"sent": 1.5})},
		{"sent past icmp.count", "phases.sent", "2000", icmp(map[string]float64{"sent": 2000})},
		{"more received than sent", "phases.received", "6", icmp(map[string]float64{"sent": 5, "received": 6})},
		{"rtt 1e305", "phases.rtt_avg", "1e+305", icmp(map[string]float64{"rtt_avg": 1e305})},
		{"negative phase", "phases.connect", "-1", func(r *wire.Result) { r.Phases = map[string]float64{"connect": -1} }},
		{"rcode past 12 bits", "phases.rcode", "5000", func(r *wire.Result) { r.Kind, r.Phases = wire.KindDNS, map[string]float64{"rcode": 5000} }},
		{"cert expiry negative", "phases.cert_expiry_days", "-1", func(r *wire.Result) { r.Phases = map[string]float64{"cert_expiry_days": -1} }},
		{"duration 1e305", "duration_ms", "1e+305", func(r *wire.Result) { r.DurationMS = 1e305 }},
		{"duration negative", "duration_ms", "-5", func(r *wire.Result) { r.DurationMS = -5 }},
		{"status 99", "status_code", "99", func(r *wire.Result) { r.StatusCode = 99 }},
		{"status 600", "status_code", "600", func(r *wire.Result) { r.StatusCode = 600 }},
		{"good icmp", "", "", icmp(map[string]float64{"sent": 5, "received": 3, "loss": 0.4, "rtt_avg": 12.5, "resolve": 0})},
		{"good dns", "", "", func(r *wire.Result) {
			r.Kind, r.Phases = wire.KindDNS, map[string]float64{"rcode": 3, "answers": 0, "exchange": 4.2}
		}},
		{"good http", "", "", func(r *wire.Result) {
			r.StatusCode, r.Phases = 503, map[string]float64{"connect": 1, "tls": 2, "cert_expiry_days": 80}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := results(uint64(i+1), 1, f.now, true, 10)[0] // a seq each: a rejected seq sent again as another result conflicts
			tc.mutate(&r)
			code, ir, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: []wire.Result{r}}))
			switch {
			case code != 200:
				t.Fatalf("%d %s", code, raw)
			case tc.field == "" && (ir.Stored+ir.Duplicates != 1 || len(ir.Rejected) != 0):
				t.Errorf("good result: %s, want stored", raw)
			case tc.field != "" && (len(ir.Rejected) != 1 || ir.Rejected[0].Field != tc.field || !strings.Contains(ir.Rejected[0].Reason, tc.value)):
				t.Errorf("%s, want one rejection of %s naming %s", raw, tc.field, tc.value)
			}
		})
	}
	var ca coverageAnswer
	if code := f.get("/api/v1/coverage?level=3", "view-key", &ca); code != 200 {
		t.Errorf("coverage after the bad results: %d, want 200", code)
	}
}

// A bad value already in a store (from before the bounds, or written by
// anything else) must not make a view answer 500.
func TestStoredBadValueCannotBreakViews(t *testing.T) {
	f := newFixture(t, nil)
	rs := results(1, 4, f.now, true, 10)
	for i := range rs {
		rs[i].Kind, rs[i].Phases = wire.KindICMP, map[string]float64{"loss": 1e305, "sent": 5, "received": 5}
	}
	rs[3].DurationMS = 1e305
	w := store.Write{Probe: "west", Results: rs, Received: f.now, Cells: make([]rollup.Cell, len(rs))}
	for i := range rs {
		w.Cells[i] = f.srv.cellOf(f.srv.probes.byID["west"], &rs[i])
	}
	if _, err := f.srv.store.Write(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/coverage?level=3", "/api/v1/coverage?level=1", "/api/v1/coverage/tiles", "/api/v1/probes"} {
		if code := f.get(path, "view-key", nil); code != 200 {
			t.Errorf("GET %s over a stored loss of 1e305: %d, want 200", path, code)
		}
	}
}

// gzJSON compresses a JSON text given in parts, the middle one repeated.
func gzJSON(t *testing.T, head, fill string, times int, tail string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	io.WriteString(zw, head)
	for range times {
		io.WriteString(zw, fill)
	}
	io.WriteString(zw, tail)
	zw.Close()
	return buf.Bytes()
}

const resultHead = `{"probe":"west","results":[{"seq":1,"time":"2026-11-27T08:59:00Z","kind":"tcp","target":"127.0.0.1:1","ok":true,"check":"`

// Issue 14, item 14: a 31 KB gzip batch holding a 31 MiB string cost the
// collector some 200 MB, 8.8 GB for 40 at once. The string must be cut as
// it streams in, and only its result rejected.
func TestIngestLongStringIsNotHeld(t *testing.T) {
	f := newFixture(t, nil)
	body := gzJSON(t, resultHead, strings.Repeat("A", 1<<20), 31, `"},`+
		`{"seq":2,"time":"2026-11-27T08:59:00Z","kind":"tcp","target":"127.0.0.1:1","ok":true,"check":"gw"}]}`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	code, ir, raw := f.post("tok-west", body)
	runtime.ReadMemStats(&after)
	if code != 200 || ir.Stored != 1 || len(ir.Rejected) != 1 || ir.Rejected[0].Field != "check" ||
		!strings.Contains(ir.Rejected[0].Reason, fmt.Sprintf("%d bytes as sent, more than 128", 31<<20)) {
		t.Fatalf("%d %s; want seq 2 stored, seq 1 rejected as a check of %d bytes", code, clip(raw), 31<<20)
	}
	// Allocated by the whole exchange, client and server: the string
	// itself is 31 MiB.
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("posting a 31 MiB string allocated %d MiB, want under 8", n>>20)
	}
	if n := f.srv.ingestBudget.used.Load(); n != 0 {
		t.Errorf("%d decoded bytes still held after the answer", n)
	}
}

// Issue 14, item 14: over limits.max_decoded_in_flight_bytes a request is
// answered 503 with Retry-After, and nothing of it is lost: sent again
// once the budget is free, it is stored.
func TestIngestDecodedBudget(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limits.MaxBodyBytes, c.Limits.MaxDecodedBytes, c.Limits.MaxDecodedInFlightBytes = 1<<20, 1<<20, 1<<20
	})
	body := gz(t, wire.Batch{Probe: "west", Results: results(1, 50, f.now, true, 10)})
	// Other requests hold all but 1 KB of the budget.
	if !f.srv.ingestBudget.take(1<<20-1024, 1<<20) {
		t.Fatal("budget taken at start")
	}
	code, hdr, raw := f.postHeader("tok-west", body)
	if code != 503 || hdr == "" || !strings.Contains(raw, "limits.max_decoded_in_flight_bytes (1048576)") {
		t.Errorf("over the budget: %d Retry-After %q %s; want 503 with Retry-After naming the key", code, hdr, raw)
	}
	f.srv.ingestBudget.give(1<<20 - 1024)
	if code, ir, raw := f.post("tok-west", body); code != 200 || ir.Stored != 50 {
		t.Errorf("sent again with the budget free: %d %s; want 50 stored", code, raw)
	}
	if n := f.srv.ingestBudget.used.Load(); n != 0 {
		t.Errorf("%d decoded bytes still held after the answers", n)
	}
	// Many at once, each well under the budget alone: every one is
	// stored or told to retry, and the budget ends empty.
	var wg sync.WaitGroup
	for i := range 20 {
		b := gz(t, wire.Batch{Probe: "east", Results: results(uint64(i*100+1), 100, f.now, true, 10)})
		wg.Go(func() {
			if code, _, raw := f.post("tok-east", b); code != 200 && code != 503 && code != 429 {
				t.Errorf("concurrent batch: %d %s", code, raw)
			}
		})
	}
	wg.Wait()
	if n := f.srv.ingestBudget.used.Load(); n != 0 {
		t.Errorf("%d decoded bytes still held after concurrent answers", n)
	}
}

// Issue 14, item 15: a rejected field was echoed whole into the answer
// and the log (a 31 KB request wrote a 32 MB log line).
func TestIngestEchoesOnlyAPrefix(t *testing.T) {
	f := newFixture(t, nil)
	log, logged := testlog.New()
	f.srv.log = log
	long := strings.Repeat("é", 380) // 760 bytes: under the guard's cut, over check's 128
	for _, tc := range []struct {
		name string
		body []byte
		code int
	}{
		{"check", gzJSON(t, resultHead, long, 1, `"}]}`), 200},
		{"kind", gzJSON(t, `{"results":[{"seq":1,"time":"2026-11-27T08:59:00Z","check":"c","target":"t","kind":"`, "x", 90, `"}]}`), 200},
		{"time", gzJSON(t, `{"results":[{"seq":1,"check":"c","target":"t","kind":"tcp","time":"`, "9", 300, `"}]}`), 200},
		{"huge check", gzJSON(t, resultHead, strings.Repeat("A", 1<<20), 2, `"}]}`), 200},
		{"probe_version", gzJSON(t, `{"probe_version":"`, "v", 300, `","results":[]}`), 400},
		{"probe", gzJSON(t, `{"probe":"`, "p", 700, `","results":[]}`), 403},
		{"encoding", nil, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.http.URL+"/api/v1/ingest", bytes.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer tok-west")
			req.Header.Set("Content-Encoding", "gzip")
			if tc.body == nil {
				req.Header.Set("Content-Encoding", strings.Repeat("z", 4000))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || len(raw) > 512 {
				t.Errorf("%d, %d bytes: %s; want %d in under 512 bytes", resp.StatusCode, len(raw), clip(string(raw)), tc.code)
			}
		})
	}
	for line := range strings.Lines(logged.String()) {
		if len(line) > 512 {
			t.Errorf("log line of %d bytes: %s", len(line), clip(line))
		}
	}
	if !strings.Contains(logged.String(), "bytes)") {
		t.Errorf("the log names no clipped value: %s", clip(logged.String()))
	}
}

// Issue 14, item 16: a newline, CR or trailing backslash in a name made
// InfluxDB refuse the batch on every retry, blocking the probe's queue.
// The ingest decides for both stores: such names are rejected per result.
func TestIngestRefusesNamesInfluxCannotHold(t *testing.T) {
	f := newFixture(t, nil)
	for i, tc := range []struct {
		field  string // "" for a result that is stored
		mutate func(*wire.Result)
	}{
		{"check", func(r *wire.Result) { r.Check = "portal\nx" }},
		{"check", func(r *wire.Result) { r.Check = "portal\r" }},
		{"check", func(r *wire.Result) { r.Check = `portal\` }},
		{"service", func(r *wire.Result) { r.Service = "dukcapil\n" }},
		{"service", func(r *wire.Result) { r.Service = `dukcapil\\` }},
		{"target", func(r *wire.Result) { r.Target = "http://127.0.0.1/\r\nHost: x" }},
		{"error_class", func(r *wire.Result) { r.ErrorClass = "time\tout" }},
		{"check", func(r *wire.Result) { r.Check = "a\x7fb" }},
		{"phases", func(r *wire.Result) { r.Phases = map[string]float64{"con nect": 1} }},
		{"phases", func(r *wire.Result) { r.Phases = map[string]float64{`x\`: 1} }},
		{"", func(r *wire.Result) { r.Check, r.Service = `a b,c=d"e\f`, `x\ y` }},
		{"", func(r *wire.Result) { r.Target = `http://127.0.0.1/a\` }},
		{"", func(r *wire.Result) { r.OK, r.Error = false, "read: connection reset\nby peer \\" }},
	} {
		r := results(uint64(i+1), 1, f.now, true, 10)[0] // a seq each: a rejected seq sent again as another result conflicts
		tc.mutate(&r)
		code, ir, raw := f.post("tok-west", gz(t, wire.Batch{Probe: "west", Results: []wire.Result{r}}))
		switch {
		case code != 200:
			t.Errorf("%+v: %d %s", r, code, raw)
		case tc.field == "" && len(ir.Rejected) != 0:
			t.Errorf("check %q service %q target %q error %q rejected: %s", r.Check, r.Service, r.Target, r.Error, raw)
		case tc.field != "" && (len(ir.Rejected) != 1 || ir.Rejected[0].Field != tc.field):
			t.Errorf("check %q service %q target %q class %q phases %v: %s; want field %s rejected",
				r.Check, r.Service, r.Target, r.ErrorClass, r.Phases, raw, tc.field)
		}
	}
}

// The guard cuts a string only where a character starts, never inside an
// escape, and a number so that it stays one: what it passes is JSON, so
// the one result is rejected and its neighbours kept.
func TestJSONGuardKeepsJSONValid(t *testing.T) {
	rules := batchRules{oldest: time.Unix(0, 0), newest: time.Now().Add(time.Hour), maxResults: 10}
	good := `{"seq":2,"time":"2026-01-01T00:00:00Z","check":"c","kind":"tcp","target":"t"}`
	for _, fill := range []string{`\u00e9`, `\"`, `\\`, `a\n`, `é`} {
		for pad := range 7 {
			long := strings.Repeat("x", pad) + strings.Repeat(fill, 800)
			body := `{"results":[{"seq":1,"time":"2026-01-01T00:00:00Z","kind":"tcp","target":"t","check":"` + long + `"},` + good + `]}`
			b, err := decodeBatch(strings.NewReader(body), rules)
			if err != nil || len(b.Results) != 1 || len(b.Rejected) != 1 || b.Rejected[0].Field != "check" ||
				!strings.Contains(b.Rejected[0].Reason, fmt.Sprintf("%d bytes as sent", len(long))) {
				t.Errorf("fill %q pad %d: %+v %v; want seq 1 rejected as a check of %d bytes, seq 2 kept", fill, pad, b, err, len(long))
			}
		}
	}
	for _, num := range []string{strings.Repeat("1", 100), "1." + strings.Repeat("5", 62) + "e+10", "-1" + strings.Repeat("0", 200)} {
		body := `{"results":[{"seq":1,"time":"2026-01-01T00:00:00Z","kind":"tcp","target":"t","check":"c","duration_ms":` + num + `},` + good + `]}`
		b, err := decodeBatch(strings.NewReader(body), rules)
		if err != nil || len(b.Results) != 1 || len(b.Rejected) != 1 || b.Rejected[0].Field != "duration_ms" {
			t.Errorf("number of %d bytes: %+v %v; want seq 1 rejected naming duration_ms", len(num), b, err)
		}
	}
}
