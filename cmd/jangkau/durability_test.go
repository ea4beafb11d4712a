package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
)

// The durability tests run the real binary and kill it with SIGKILL at
// seeded random moments. Each ends with the same check: the collector
// holds every seq 1..N of the probe exactly once.

// rig is one collector and one probe, with their files in one directory.
type rig struct {
	t                  *testing.T
	bin, dir, addr     string
	collector, probeUp *exec.Cmd
}

// square100 is a GeoJSON square of 0.5° around the probe's location, so
// that these tests need no boundary files.
const square100 = `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kode":"99.01","nama":"Uji"},` +
	`"geometry":{"type":"Polygon","coordinates":[[[106,-6.5],[106.5,-6.5],[106.5,-6],[106,-6],[106,-6.5]]]}}]}`

func newRig(t *testing.T, batchSize int) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	r := &rig{t: t, bin: buildBinary(t), dir: t.TempDir(), addr: freeAddr(t)}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(target.Close)
	write(t, filepath.Join(r.dir, "regions.geojson"), square100)
	write(t, filepath.Join(r.dir, "collector.yaml"), fmt.Sprintf(`listen: %s
data_dir: ./data
public_read: true
regions: {file: regions.geojson}
probes:
  - {id: p1, token_sha256: %q, location: {lat: -6.2, lon: 106.2}}
`, r.addr, sum("tok-p1")))
	write(t, filepath.Join(r.dir, "probe.yaml"), fmt.Sprintf(`id: p1
collector: http://%s
token: tok-p1
spool: {dir: ./spool}
upload: {interval: 1s, batch_size: %d, timeout: 5s}
checks:
  - {name: portal, kind: http, target: %q, interval: 1s, timeout: 500ms}
`, r.addr, batchSize, target.URL+"/"))
	t.Cleanup(func() { r.kill(&r.probeUp); r.kill(&r.collector) })
	return r
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// run starts a process whose output goes to a log file kept for failures.
func (r *rig) run(name string) *exec.Cmd {
	r.t.Helper()
	logf, err := os.OpenFile(filepath.Join(r.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(r.bin, name, "--config", filepath.Join(r.dir, name+".yaml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	return cmd
}

func (r *rig) startCollector() {
	r.collector = r.run("collector")
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + r.addr + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatal("collector not up within 15 s")
}

func (r *rig) startProbe() { r.probeUp = r.run("probe") }

// kill sends SIGKILL to the process we started and reaps it.
func (r *rig) kill(c **exec.Cmd) {
	if *c == nil {
		return
	}
	(*c).Process.Kill()
	(*c).Wait()
	*c = nil
}

// stop sends SIGTERM and waits: the probe flushes its spool.
func (r *rig) stop(c **exec.Cmd) {
	r.t.Helper()
	(*c).Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- (*c).Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		r.t.Errorf("%s did not stop within 15 s", (*c).Args[1])
		(*c).Process.Kill()
		<-done
	}
	*c = nil
}

type probeState struct {
	LastSeq       uint64 `json:"last_seq"`
	AckedSeq      uint64 `json:"acked_seq"`
	ResultsStored uint64 `json:"results_stored"`
	Lost          uint64 `json:"lost"`
}

func (r *rig) state() probeState {
	r.t.Helper()
	resp, err := http.Get("http://" + r.addr + "/api/v1/probes")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Probes []probeState }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v.Probes) != 1 {
		r.t.Fatalf("probes answer: %v %+v", err, v)
	}
	return v.Probes[0]
}

// waitAcked waits until the collector has acknowledged seq n.
func (r *rig) waitAcked(n uint64, within time.Duration) probeState {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := r.state()
		if st.AckedSeq >= n || time.Now().After(deadline) {
			return st
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// spool reads the stopped probe's spool: the highest seq it ever gave and
// how many results it still holds.
func (r *rig) spool() (last uint64, held int) {
	r.t.Helper()
	sp, err := spool.Open(filepath.Join(r.dir, "spool"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer sp.Close()
	return sp.LastSeq(), sp.Len()
}

// checkExactlyOnce stops the probe and checks that it gave seqs at all,
// and that every seq it gave is stored once at the collector.
func (r *rig) checkExactlyOnce() probeState {
	r.t.Helper()
	r.stop(&r.probeUp)
	last, _ := r.spool()
	if last == 0 {
		r.t.Fatalf("the probe gave no seq: nothing was checked or spooled, so nothing can be compared (logs in %s)", r.dir)
	}
	st := r.waitAcked(last, 5*time.Second)
	if st.LastSeq != last || st.ResultsStored != last || st.AckedSeq != last || st.Lost != 0 {
		r.t.Errorf("probe gave seqs 1..%d; collector has %+v, want last_seq = results_stored = acked_seq = %d, lost 0", last, st, last)
	}
	if _, held := r.spool(); held != 0 {
		r.t.Errorf("spool still holds %d results after the final flush", held)
	}
	return st
}

// moments returns n seeded random waits between lo and hi: reproducible
// kill times.
func moments(seed uint64, n int, lo, hi time.Duration) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 0x6a616e676b6175))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	return out
}

// TestCollectorDownProbeKeepsChecking: the collector is down for 5 s while
// the probe checks every second; once it is back, every seq arrives once,
// and the coverage scan counts each of them once.
func TestCollectorDownProbeKeepsChecking(t *testing.T) {
	r := newRig(t, 1000)
	from := time.Now().UTC().Add(-time.Second)
	r.startProbe()
	time.Sleep(5 * time.Second)
	r.startCollector()
	time.Sleep(3 * time.Second)
	st := r.checkExactlyOnce()
	if st.LastSeq < 6 {
		t.Errorf("only %d results in 8 s of checks every second", st.LastSeq)
	}
	q := fmt.Sprintf("level=2&from=%s&to=%s", from.Format(time.RFC3339), time.Now().UTC().Add(2*time.Second).Format(time.RFC3339))
	cov := coverage(t, "http://"+r.addr, q)
	if got := cov["99.01"].Properties.Samples; uint64(got) != st.ResultsStored {
		t.Errorf("coverage of 99.01 counts %d samples, want the %d stored", got, st.ResultsStored)
	}
}

// TestProbeKilledAtRandom: SIGKILL the probe 10 times while it checks and
// uploads (one result per batch, so uploads are often in flight), restarting
// it on the same spool each time.
func TestProbeKilledAtRandom(t *testing.T) {
	r := newRig(t, 1)
	r.startCollector()
	var ran time.Duration
	for i, d := range moments(1, 10, 300*time.Millisecond, 2500*time.Millisecond) {
		r.startProbe()
		time.Sleep(d)
		r.kill(&r.probeUp)
		ran += d
		t.Logf("kill %d after %s", i+1, d)
	}
	r.startProbe()
	time.Sleep(2 * time.Second)
	ran += 2 * time.Second
	st := r.checkExactlyOnce()
	t.Logf("%d results stored in %s of checks", st.ResultsStored, ran)
	// A check every second: the probe ran long enough for many results
	// to be stored, kills or not. A quarter of its seconds is a loose
	// floor (each start spreads its first run over the interval, and a
	// kill loses the run in flight: 10 in 14.8 s measured).
	if floor := uint64(ran / time.Second / 4); st.ResultsStored < floor {
		t.Errorf("%d results stored in %s of checks every second, want at least %d", st.ResultsStored, ran, floor)
	}
}

// TestCollectorKilledAtRandom: SIGKILL the collector 10 times while a probe
// drains a backlog of 30,000 results in batches of 50 (about 15 s at the
// default 20 requests/s, so the kills fall during ingest and the 429 path
// is taken too), restarting it on
// the same data directory each time. Whatever it acknowledged survives,
// and what it stored before a kill but could not acknowledge comes again
// and is counted as a duplicate, not stored twice.
func TestCollectorKilledAtRandom(t *testing.T) {
	r := newRig(t, 50)
	sp, err := spool.Open(filepath.Join(r.dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	const backlog = 30000
	for i := 0; i < backlog; i += 1000 {
		rs := make([]wire.Result, 1000)
		for j := range rs {
			rs[j] = wire.Result{Time: now.Add(time.Duration(i+j-backlog) * time.Second), Check: "portal",
				Kind: wire.KindHTTP, Target: "http://127.0.0.1:9/", OK: true, DurationMS: 12.5, StatusCode: 200}
		}
		if _, err := sp.Add(rs...); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	r.startProbe()
	// acked_seq never goes back: not while the collector runs, and not
	// across a kill (what it acknowledged, it had stored).
	var acked uint64
	noteAcked := func(when string) {
		t.Helper()
		st := r.state()
		if st.AckedSeq < acked {
			t.Errorf("%s: acked_seq went back from %d to %d", when, acked, st.AckedSeq)
		}
		acked = max(acked, st.AckedSeq)
	}
	for i, d := range moments(2, 10, 200*time.Millisecond, 1500*time.Millisecond) {
		r.startCollector()
		noteAcked(fmt.Sprintf("restart %d", i+1))
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			noteAcked(fmt.Sprintf("before kill %d", i+1))
		}
		r.kill(&r.collector)
		t.Logf("kill %d after %s, acked_seq %d", i+1, d, acked)
		if acked >= backlog && i < 9 {
			t.Errorf("backlog drained before kill %d: the kills no longer fall during ingest", i+1)
		}
	}
	r.startCollector()
	noteAcked("last restart")
	if acked == 0 {
		t.Error("nothing acknowledged during the kills: they fell before any ingest")
	}
	st := r.waitAcked(backlog, 60*time.Second)
	if st.AckedSeq < acked {
		t.Errorf("after the kills: acked_seq %d, below the %d acknowledged before", st.AckedSeq, acked)
	}
	t.Logf("after the kills: %+v", st)
	r.checkExactlyOnce()
}
