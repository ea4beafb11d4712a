package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jangkau/jangkau/collector/store"
	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/internal/boltfile/corrupttest"
	"github.com/jangkau/jangkau/wire"
	bolt "go.etcd.io/bbolt"
)

const (
	recProbe   = "probe-A"
	recBatches = 20
	recBatch   = 500
	recTotal   = recBatches * recBatch
)

var recStart = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// fillStore writes recTotal results of one probe in recBatches commits
// and closes the store.
func fillStore(t *testing.T, dir string) {
	t.Helper()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeBatches(t, st, 0, recBatches)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeBatches(t *testing.T, st *Store, from, to int) {
	t.Helper()
	for b := from; b < to; b++ {
		rs := make([]wire.Result, recBatch)
		for i := range rs {
			seq := uint64(b*recBatch + i + 1)
			rs[i] = wire.Result{Seq: seq, Time: recStart.Add(time.Duration(seq) * time.Second), Check: "gw",
				Kind: wire.KindTCP, Target: "127.0.0.1:1", OK: seq%3 != 0, DurationMS: float64(seq % 97)}
		}
		res, err := st.Write(context.Background(), store.Write{Probe: recProbe, Results: rs, FirstSeq: rs[0].Seq, Received: recStart})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stored != recBatch {
			t.Fatalf("batch %d: stored %d of %d", b, res.Stored, recBatch)
		}
	}
}

// storedSeqs opens the store in dir and returns the seqs it holds,
// failing on a seq held twice or one never written.
func storedSeqs(t *testing.T, dir string) map[uint64]bool {
	t.Helper()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seqs := map[uint64]bool{}
	err = st.Scan(context.Background(), recStart, recStart.Add(48*time.Hour), func(r store.Record) error {
		if r.Probe != recProbe || r.Seq < 1 || r.Seq > recTotal || seqs[r.Seq] {
			t.Errorf("unexpected record: probe %s seq %d (held twice: %v)", r.Probe, r.Seq, seqs[r.Seq])
		}
		seqs[r.Seq] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

// TestCorruptStore damages a closed store four ways. Open must refuse
// it with an error naming the file and the salvage command, never
// panic and never open it empty or at an older commit; salvage must
// then recover every result that is still readable.
func TestCorruptStore(t *testing.T) {
	for _, tc := range corrupttest.Damages(string(bucketResults), recProbe, recTotal) {
		t.Run(tc.Name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			fillStore(t, dir)
			if n := len(storedSeqs(t, dir)); n != recTotal {
				t.Fatalf("before the damage the store holds %d results, want %d", n, recTotal)
			}
			lost := tc.Damage(t, path)

			st, err := Open(dir)
			if err == nil {
				st.Close()
				t.Fatal("Open accepted the damaged store")
			}
			var corrupt *boltfile.CorruptError
			if !errors.As(err, &corrupt) {
				t.Fatalf("Open: %v, want a CorruptError", err)
			}
			for _, want := range []string{path, RecoveryCommand(dir), "jangkau store check --data " + dir} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open's error does not say %q:\n%v", want, err)
				}
			}

			rep, ok, err := Check(dir)
			if err != nil || ok {
				t.Errorf("Check: ok %v, err %v; want a problem reported", ok, err)
			}
			if rep != nil && lost >= 0 && rep.ByBucket[string(bucketResults)] != recTotal-lost {
				t.Errorf("Check counts %d readable results, want %d", rep.ByBucket[string(bucketResults)], recTotal-lost)
			}

			rep, kept, err := Salvage(dir, "", true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(kept); err != nil {
				t.Errorf("the damaged file is not kept: %v", err)
			}
			got := storedSeqs(t, dir)
			if rep.ByBucket[string(bucketResults)] != len(got) {
				t.Errorf("salvage reports %d results, the store holds %d", rep.ByBucket[string(bucketResults)], len(got))
			}
			corrupttest.CheckRecovered(t, len(got), recTotal, lost)
			// The probe's state survives or is rebuilt: its next batch is
			// neither stored twice nor counted as lost.
			var top uint64
			for seq := range got {
				top = max(top, seq)
			}
			if top > 0 {
				st, err := Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				probes, err := st.Probes(context.Background())
				st.Close()
				if err != nil || len(probes) != 1 || probes[0].AckedSeq < top {
					t.Errorf("probe state after salvage: %+v (%v), want %s acknowledged up to at least %d", probes, err, recProbe, top)
				}
			}
			t.Logf("salvaged %d of %d results (%d from unreachable pages); %d bad pages: %v", len(got), recTotal, rep.Orphans, rep.BadPages, rep.Bad)
		})
	}
}

// TestCrashNeverRefusesHealthyStore copies a store's files while it is
// open, as a kill -9 or power cut leaves them: it must open. The
// sidecar may lag a commit whose meta page is then torn: that commit
// was never acknowledged, the store opens at the one before.
func TestCrashNeverRefusesHealthyStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	writeBatches(t, st, 0, 2)
	crash := func(t *testing.T, known []byte) string {
		d := t.TempDir()
		db, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, FileName), db, 0o640)
		os.WriteFile(filepath.Join(d, FileName+boltfile.KnownSuffix), known, 0o640)
		return d
	}
	known, err := os.ReadFile(path + boltfile.KnownSuffix)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("killed between commits", func(t *testing.T) {
		if n := len(storedSeqs(t, crash(t, known))); n != 2*recBatch {
			t.Errorf("reopened after a crash with %d results, want %d", n, 2*recBatch)
		}
	})
	writeBatches(t, st, 2, 3) // the sidecar copy lags this commit
	t.Run("meta of a commit newer than the sidecar torn", func(t *testing.T) {
		d := crash(t, known)
		corrupttest.CorruptNewestMeta(t, filepath.Join(d, FileName))
		if n := len(storedSeqs(t, d)); n != 2*recBatch {
			t.Errorf("reopened with %d results, want the %d of the commit before the torn one", n, 2*recBatch)
		}
	})
	t.Run("sidecar slot torn", func(t *testing.T) {
		k, _ := os.ReadFile(path + boltfile.KnownSuffix)
		for i := 0; i < 40; i++ {
			k[i] ^= 0xff // one slot
		}
		if n := len(storedSeqs(t, crash(t, k))); n != 3*recBatch {
			t.Errorf("reopened with %d results, want %d", n, 3*recBatch)
		}
	})
}

// BenchmarkOpenLargeStore measures what opening costs on a store of
// 300,000 results (100 probes, 3,000 each, written in batches of 500):
// bbolt's own open (with NoFreelistSync it already walks the tree to
// rebuild the freelist), the defensive walk Open adds, bbolt's Check,
// and the whole of Open.
func BenchmarkOpenLargeStore(b *testing.B) {
	dir := b.TempDir()
	st, err := Open(dir, NoSync())
	if err != nil {
		b.Fatal(err)
	}
	for p := range 100 {
		for batch := range 6 {
			rs := make([]wire.Result, 500)
			for i := range rs {
				seq := uint64(batch*500 + i + 1)
				rs[i] = wire.Result{Seq: seq, Time: recStart.Add(time.Duration(seq)*10*time.Second + time.Duration(p)*time.Millisecond),
					Check: "portal", Kind: wire.KindHTTP, Target: "https://127.0.0.1/", Service: "web", OK: seq%7 != 0,
					DurationMS: float64(seq % 997), StatusCode: 200, Phases: map[string]float64{"connect": 1.5, "tls": 12.25}}
			}
			if _, err := st.Write(context.Background(), store.Write{Probe: fmt.Sprintf("probe-%03d", p), Results: rs, FirstSeq: rs[0].Seq, Received: recStart}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	b.Logf("%s: %.1f MiB", path, float64(corrupttest.Size(b, path))/(1<<20))
	opts := &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}
	b.Run("bbolt.Open", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			db, err := bolt.Open(path, 0o640, opts)
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	b.Run("walk", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			if r, err := boltfile.Walk(path, nil, nil); err != nil || r.BadPages > 0 {
				b.Fatal(err, r.Bad)
			}
		}
	})
	b.Run("bbolt.Check", func(b *testing.B) {
		db, err := bolt.Open(path, 0o640, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		defer cpuPerOp(b)()
		for b.Loop() {
			if err := boltfile.CheckDB(db); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open before (bbolt.Open and the bucket transaction)", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			db, err := bolt.Open(path, 0o640, opts)
			if err != nil {
				b.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				_, err := tx.CreateBucketIfNotExists(bucketResults)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	b.Run("Open", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			st, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			st.Close()
		}
	})
}

// cpuPerOp reports the process's CPU time per op (user+system): on a
// shared machine wall time varies tenfold, CPU time much less.
func cpuPerOp(b *testing.B) func() {
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	return func() {
		var after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		ns := after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano()
		b.ReportMetric(float64(ns)/1e6/float64(b.N), "cpu-ms/op")
	}
}
