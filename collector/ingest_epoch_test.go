package collector

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/internal/testlog"
	"github.com/jangkau/jangkau/probe"
	"github.com/jangkau/jangkau/probe/spool"
)

// spoolFor opens a probe spool in dir holding n results taken before
// now, as the probe's checks would have left it.
func spoolFor(t *testing.T, dir string, n int, now time.Time, opts ...spool.Option) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(dir, append([]spool.Option{spool.Logger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	if n > 0 {
		if _, err := sp.Add(results(1, n, now, true, 10)...); err != nil {
			t.Fatal(err)
		}
	}
	return sp
}

// uploader is the probe's real uploader of sp to the fixture as probe
// west: one probe process.
func (f *fixture) uploader(sp *spool.Spool) *probe.Uploader {
	f.t.Helper()
	cfg := &probe.Config{ID: "west", Collector: f.http.URL, Token: "tok-west",
		Upload: probe.UploadConfig{Interval: time.Second, BatchSize: 100, Timeout: 5 * time.Second}}
	u, err := probe.NewUploader(cfg, sp, slog.New(slog.DiscardHandler))
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// flush uploads everything sp holds through a new uploader (a probe
// started again) and returns its error.
func (f *fixture) flush(sp *spool.Spool) error {
	f.t.Helper()
	return flushWith(f.uploader(sp))
}

func flushWith(u *probe.Uploader) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return u.Flush(ctx)
}

// Issue 14, item 3: a probe whose spool was deleted started again at seq
// 1, and the collector acknowledged all its new results as duplicates of
// the old seqs: the probe deleted them, nothing was stored, lost stayed 0.
func TestNewSpoolStartsNewSeqSpace(t *testing.T) {
	f := newFixture(t, nil)
	old := spoolFor(t, t.TempDir(), 300, f.now.Add(-time.Hour))
	if err := f.flush(old); err != nil {
		t.Fatal(err)
	}
	before := f.probeState("west")
	if before.ResultsStored != 300 || before.AckedSeq != 300 {
		t.Fatalf("first spool: %+v, want 300 stored and acknowledged", before)
	}
	old.Close()

	// The operator deleted the spool: a new one, from seq 1 again.
	fresh := spoolFor(t, t.TempDir(), 200, f.now)
	if fresh.Epoch() == old.Epoch() || fresh.Epoch() == "" {
		t.Fatalf("new spool's epoch %q, old %q: want a new, non-empty one", fresh.Epoch(), old.Epoch())
	}
	if err := f.flush(fresh); err != nil {
		t.Fatal(err)
	}
	after := f.probeState("west")
	if after.ResultsStored != 500 || after.AckedSeq != 200 || after.Lost != 0 || after.Epochs != 1 || after.Epoch != fresh.Epoch() {
		t.Errorf("after a new spool of 200: %+v; want 500 stored, acked 200, lost 0, 1 new epoch (%s)", after, fresh.Epoch())
	}
	if v := value(t, f.srv.metrics.epochs.WithLabelValues("west")); v != 1 {
		t.Errorf("jangkau_ingest_spool_epochs_total{probe=west} = %g, want 1", v)
	}
	// A restart is a new boot id that stays: no second sender.
	if v := value(t, f.srv.metrics.senderConflicts.WithLabelValues("west", conflictBoot)); v != 0 {
		t.Errorf("jangkau_ingest_sender_conflicts_total{probe=west,reason=former_boot} = %g after a restart, want 0", v)
	}
	var probes struct {
		Probes []probeView `json:"probes"`
	}
	if code := f.get("/api/v1/probes", "view-key", &probes); code != 200 {
		t.Fatalf("GET /api/v1/probes: %d", code)
	}
	for _, p := range probes.Probes {
		if p.ID == "west" && (p.ResultsStored != 500 || p.SpoolEpoch != fresh.Epoch() || p.Epochs != 1) {
			t.Errorf("/api/v1/probes west: %+v", p)
		}
	}
}

// Issue 16, item 3: a cloned probe (same id and token on a second server,
// its own spool) lost data without a word. Its two spools are two epochs:
// a batch from the epoch the probe left is refused 409, logged, counted.
func TestClonedProbeDetected(t *testing.T) {
	log, buf := testlog.New()
	f := newFixtureOn(t, fixtureRegions(t), log, nil)
	a := spoolFor(t, t.TempDir(), 10, f.now.Add(-time.Hour))
	b := spoolFor(t, t.TempDir(), 10, f.now)
	if err := f.flush(a); err != nil {
		t.Fatal(err)
	}
	if err := f.flush(b); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Add(results(11, 5, f.now.Add(-30*time.Minute), true, 10)...); err != nil {
		t.Fatal(err)
	}
	err := f.flush(a)
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("flush of the first sender's new results: %v, want a 409 refusal", err)
	}
	if a.Len() != 5 {
		t.Errorf("first sender's spool holds %d, want its 5 refused results kept", a.Len())
	}
	if v := value(t, f.srv.metrics.senderConflicts.WithLabelValues("west", conflictEpoch)); v != 1 {
		t.Errorf("jangkau_ingest_sender_conflicts_total{probe=west,reason=former_epoch} = %g, want 1", v)
	}
	if !strings.Contains(buf.String(), "two senders behind one probe id") {
		t.Errorf("no log line about two senders; log:\n%s", buf.String())
	}
	if st := f.probeState("west"); st.ResultsStored != 20 || st.Epoch != b.Epoch() {
		t.Errorf("probe west: %+v; want 20 stored, epoch %s", st, b.Epoch())
	}
}

// Issue 16, item 3, with the spool copied too: both senders have one
// epoch and give the same seqs to different results, so that one's are
// taken for duplicates of the other's. Their boot ids alternate: logged
// and counted.
func TestClonedProbeWithCopiedSpoolDetected(t *testing.T) {
	log, buf := testlog.New()
	f := newFixtureOn(t, fixtureRegions(t), log, nil)
	dirA, dirB := t.TempDir(), t.TempDir()
	a := spoolFor(t, dirA, 10, f.now.Add(-time.Hour))
	a.Close()
	raw, err := os.ReadFile(filepath.Join(dirA, "spool.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "spool.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := spoolFor(t, dirA, 0, f.now), spoolFor(t, dirB, 0, f.now)
	if a.Epoch() != b.Epoch() {
		t.Fatalf("copied spool has epoch %s, the original %s: want the same", b.Epoch(), a.Epoch())
	}
	ua, ub := f.uploader(a), f.uploader(b)
	for _, step := range []struct {
		sp *spool.Spool
		u  *probe.Uploader
	}{{a, ua}, {b, ub}, {a, ua}} {
		if _, err := step.sp.Add(results(step.sp.LastSeq()+1, 5, f.now.Add(-time.Duration(step.sp.LastSeq())*time.Minute), true, 10)...); err != nil {
			t.Fatal(err)
		}
		if err := flushWith(step.u); err != nil {
			t.Fatal(err)
		}
	}
	if v := value(t, f.srv.metrics.senderConflicts.WithLabelValues("west", conflictBoot)); v != 1 {
		t.Errorf("jangkau_ingest_sender_conflicts_total{probe=west,reason=former_boot} = %g, want 1", v)
	}
	if !strings.Contains(buf.String(), "two senders behind one probe id") {
		t.Errorf("no log line about two senders; log:\n%s", buf.String())
	}
}

// Issue 16, item 3, the content signal: two probes with one id, token and
// a copied spool give the same seqs to results taken at different times.
// The second's batch is not acknowledged as duplicates (which would let
// its probe delete them): it is refused 409 and stays in its spool,
// logged with the seq range and counted, and the first's results stay
// stored, once.
func TestClonedProbeSeqContentConflict(t *testing.T) {
	log, buf := testlog.New()
	f := newFixtureOn(t, fixtureRegions(t), log, nil)
	dirA, dirB := t.TempDir(), t.TempDir()
	a := spoolFor(t, dirA, 10, f.now.Add(-time.Hour))
	if err := f.flush(a); err != nil {
		t.Fatal(err)
	}
	a.Close()
	raw, err := os.ReadFile(filepath.Join(dirA, "spool.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "spool.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := spoolFor(t, dirA, 0, f.now), spoolFor(t, dirB, 0, f.now)
	ua, ub := f.uploader(a), f.uploader(b)
	// Each server measures on its own: seqs 11-15 at its own times.
	if _, err := a.Add(results(11, 5, f.now.Add(-20*time.Minute), true, 10)...); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(results(11, 5, f.now.Add(-10*time.Minute), false, 20)...); err != nil {
		t.Fatal(err)
	}
	if err := flushWith(ua); err != nil {
		t.Fatal(err)
	}
	if st := f.probeState("west"); st.ResultsStored != 15 || st.AckedSeq != 15 {
		t.Fatalf("after the first sender: %+v, want 15 stored and acknowledged", st)
	}
	err = flushWith(ub)
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("flush of the second sender: %v, want a 409 refusal", err)
	}
	if b.Len() != 5 {
		t.Errorf("second sender's spool holds %d, want its 5 refused results kept", b.Len())
	}
	if v := value(t, f.srv.metrics.senderConflicts.WithLabelValues("west", conflictSeq)); v < 1 {
		t.Errorf("jangkau_ingest_sender_conflicts_total{probe=west,reason=seq_content} = %g, want at least 1", v)
	}
	logged := buf.String()
	if !strings.Contains(logged, "level=ERROR") || !strings.Contains(logged, "first_seq=11 last_seq=15") || !strings.Contains(logged, "probe=west") {
		t.Errorf("no ERROR line naming probe west and seqs 11-15; log:\n%s", logged)
	}
	// A retry within the minute is counted, not logged again.
	before := strings.Count(logged, "already hold other results")
	if err := flushWith(ub); err == nil {
		t.Errorf("second flush of the second sender succeeded")
	}
	if n := strings.Count(buf.String(), "already hold other results"); n != before {
		t.Errorf("conflict logged %d times after a retry within a minute, want %d", n, before)
	}
	stored := 0
	err = f.srv.ScanResults(context.Background(), f.now.Add(-2*time.Hour), f.now.Add(time.Hour), func(r store.Record) error {
		stored++
		if r.Seq > 10 && (!r.OK || r.DurationMS != 10) {
			t.Errorf("seq %d is the second sender's result: %+v", r.Seq, r.Result)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := f.probeState("west"); stored != 15 || st.ResultsStored != 15 || st.AckedSeq != 15 {
		t.Errorf("%d results stored, state %+v; want the first sender's 15", stored, st)
	}
}

// Issue 14, item 4: results the probe could never spool (its writer's
// queue full, the disk full) were counted at the probe only. The spool
// keeps their running total, across a restart, and the collector counts
// it as lost, once.
func TestUnspooledResultsCountedAsLost(t *testing.T) {
	f := newFixture(t, nil)
	dir := t.TempDir()
	blocked, release := make(chan struct{}), make(chan struct{})
	first := true
	sp := spoolFor(t, dir, 0, f.now, spool.QueueLen(1), spool.BeforeCommit(func() {
		if first {
			first = false
			close(blocked)
			<-release
		}
	}))
	r := results(1, 1, f.now, true, 10)[0]
	sp.Offer(r) // taken by the writer, which then waits for release
	<-blocked
	sp.Offer(r) // fills the queue
	const dropped = 7
	for range dropped {
		if err := sp.Offer(r); err == nil {
			t.Fatal("Offer to a full queue succeeded")
		}
	}
	close(release)
	sp.Sync()
	// The probe restarts before it uploads: the report must survive.
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	sp = spoolFor(t, dir, 0, f.now)
	if d := sp.Unspooled(); d == nil || d.Results != dropped {
		t.Fatalf("reopened spool reports %+v unspooled, want %d", d, dropped)
	}
	if err := f.flush(sp); err != nil {
		t.Fatal(err)
	}
	st := f.probeState("west")
	if st.ResultsStored != 2 || st.Lost != dropped || st.Dropped != dropped {
		t.Errorf("probe west: %+v; want 2 stored, %d lost, %d dropped", st, dropped, dropped)
	}
	// The report goes with every batch; sent again it counts once.
	if _, err := sp.Add(results(3, 1, f.now, true, 10)...); err != nil {
		t.Fatal(err)
	}
	if err := f.flush(sp); err != nil {
		t.Fatal(err)
	}
	if st := f.probeState("west"); st.ResultsStored != 3 || st.Lost != dropped {
		t.Errorf("after a second batch: %+v; want 3 stored, still %d lost", st, dropped)
	}
	var probes struct {
		Probes []probeView `json:"probes"`
	}
	f.get("/api/v1/probes", "view-key", &probes)
	for _, p := range probes.Probes {
		if p.ID == "west" && (p.Lost != dropped || p.Unspooled != dropped) {
			t.Errorf("/api/v1/probes west: %+v, want lost = unspooled = %d", p, dropped)
		}
	}
}

// spool_epoch and boot_id are kept and shown: bounded in length and
// alphabet, refused whole (400) otherwise.
func TestIngestBoundsEpochAndBootID(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		name, key, value string
		want             int
	}{
		{"epoch", "spool_epoch", "0123abcd-_XY", 200},
		{"long epoch", "spool_epoch", strings.Repeat("a", 65), 400},
		{"epoch with a comma", "spool_epoch", "a,b", 400},
		{"boot id with a newline", "boot_id", "a\nb", 400},
		{"boot id", "boot_id", "0123abcd", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"probe": "west", tc.key: tc.value, "results": results(1, 1, f.now, true, 10)}
			code, _, raw := f.post("tok-west", gz(t, body))
			if code != tc.want {
				t.Errorf("%s %q: %d %s, want %d", tc.key, tc.value, code, raw, tc.want)
			}
			if code == 400 && !strings.Contains(raw, tc.key) {
				t.Errorf("answer %s does not name %s", raw, tc.key)
			}
		})
	}
}
