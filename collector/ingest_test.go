package collector

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
			b, err := decodeBatch([]byte(tc.body), rules)
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
