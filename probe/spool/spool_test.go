package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jangkau/jangkau/wire"
	bolt "go.etcd.io/bbolt"
)

func openSpool(t *testing.T, dir string, opts ...Option) *Spool {
	t.Helper()
	s, err := Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func results(n int) []wire.Result {
	rs := make([]wire.Result, n)
	for i := range rs {
		rs[i] = wire.Result{Time: time.Date(2026, 11, 27, 8, 0, i, 0, time.UTC), Check: fmt.Sprintf("c%d", i), Kind: wire.KindTCP, Target: "127.0.0.1:1", OK: i%2 == 0}
	}
	return rs
}

func seqsOf(rs []wire.Result) []uint64 {
	var seqs []uint64
	for _, r := range rs {
		seqs = append(seqs, r.Seq)
	}
	return seqs
}

func TestSpoolSeqsContiguousAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir)
	if s.FirstSeq() != 0 || s.LastSeq() != 0 || s.Len() != 0 {
		t.Fatalf("new spool: first %d last %d len %d, want zeros", s.FirstSeq(), s.LastSeq(), s.Len())
	}
	in := results(3)
	seqs, err := s.Add(in...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3}) {
		t.Errorf("first seqs %v, want 1 2 3", seqs)
	}
	if in[0].Seq != 0 {
		t.Error("Add modified the caller's results")
	}
	if err := s.Ack(2, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openSpool(t, dir)
	if s.Len() != 1 || s.FirstSeq() != 3 || s.LastSeq() != 3 {
		t.Errorf("reopened: len %d first %d last %d, want 1 3 3", s.Len(), s.FirstSeq(), s.LastSeq())
	}
	seqs, err = s.Add(results(2)...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint64{4, 5}) {
		t.Errorf("seqs after reopen %v, want 4 5", seqs)
	}
	// Acknowledging everything keeps the counter: seqs never restart.
	if err := s.Ack(5, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openSpool(t, dir)
	if seqs, _ := s.Add(results(1)...); !slices.Equal(seqs, []uint64{6}) {
		t.Errorf("seq after emptying and reopening %v, want 6", seqs)
	}
}

func TestSpoolTakeAck(t *testing.T) {
	s := openSpool(t, t.TempDir())
	in := results(10)
	if _, err := s.Add(in...); err != nil {
		t.Fatal(err)
	}
	got, err := s.Take(4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqsOf(got), []uint64{1, 2, 3, 4}) {
		t.Fatalf("Take(4) seqs %v, want 1..4", seqsOf(got))
	}
	want := in[0]
	want.Seq = 1
	if g := got[0]; g.Check != want.Check || !g.Time.Equal(want.Time) || g.OK != want.OK || g.Target != want.Target {
		t.Errorf("round trip: got %+v, want %+v", g, want)
	}
	if s.Len() != 10 {
		t.Errorf("Take removed results: len %d", s.Len())
	}

	tests := []struct {
		name     string
		upTo     uint64
		rejected []uint64
		wantSeqs []uint64
	}{
		{"nothing", 0, nil, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"up to 3", 3, nil, []uint64{4, 5, 6, 7, 8, 9, 10}},
		{"rejected beyond", 4, []uint64{6, 8, 42}, []uint64{5, 7, 9, 10}},
		{"again, idempotent", 4, []uint64{6, 8}, []uint64{5, 7, 9, 10}},
		{"all", 10, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Ack(tc.upTo, tc.rejected); err != nil {
				t.Fatal(err)
			}
			got, err := s.Take(100)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqsOf(got), tc.wantSeqs) {
				t.Errorf("held %v, want %v", seqsOf(got), tc.wantSeqs)
			}
			if s.Len() != len(tc.wantSeqs) {
				t.Errorf("Len() = %d, want %d", s.Len(), len(tc.wantSeqs))
			}
			wantFirst := uint64(0)
			if len(tc.wantSeqs) > 0 {
				wantFirst = tc.wantSeqs[0]
			}
			if s.FirstSeq() != wantFirst {
				t.Errorf("FirstSeq() = %d, want %d", s.FirstSeq(), wantFirst)
			}
		})
	}
}

func TestSpoolSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	openSpool(t, dir)
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("second Open of an open spool succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another probe") {
		t.Errorf("error %q does not say the spool is in use", err)
	}
}

func TestSpoolClosed(t *testing.T) {
	s := openSpool(t, t.TempDir())
	s.Close()
	if _, err := s.Add(results(1)...); err != ErrClosed {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// withClock sets the clock of the spool's age bound.
func withClock(now func() time.Time) Option {
	return func(o *spoolOptions) { o.now = now }
}

// checkContiguous asserts that the spool holds exactly FirstSeq..LastSeq.
func checkContiguous(t *testing.T, s *Spool) {
	t.Helper()
	held, err := s.Take(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	first, last := s.FirstSeq(), s.LastSeq()
	if len(held) != s.Len() || uint64(len(held)) != last-first+1 {
		t.Fatalf("holds %d results (Len %d), want FirstSeq %d..LastSeq %d", len(held), s.Len(), first, last)
	}
	for i, r := range held {
		if r.Seq != first+uint64(i) {
			t.Fatalf("held[%d].Seq = %d, want %d: not contiguous", i, r.Seq, first+uint64(i))
		}
	}
}

func TestSpoolSizeBoundDropsOldestExactly(t *testing.T) {
	dir := t.TempDir()
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	const maxBytes = 1 << 20
	s := openSpool(t, dir, Limits(Config{MaxBytes: maxBytes}), Logger(log))
	for range 30 { // about 3 MiB in groups, as the writer commits them
		if _, err := s.Add(results(500)...); err != nil {
			t.Fatal(err)
		}
		if b := s.Bytes(); b > maxBytes {
			t.Fatalf("Bytes() = %d after Add, want <= max_bytes %d", b, maxBytes)
		}
	}
	checkContiguous(t, s)
	first := s.FirstSeq()
	if first == 1 {
		t.Fatal("nothing was dropped: the test did not fill the spool")
	}
	if got := s.Dropped("size"); got != first-1 {
		t.Errorf("Dropped(size) = %d, want FirstSeq-1 = %d", got, first-1)
	}
	if s.Dropped("age") != 0 || s.Dropped("queue_full") != 0 {
		t.Errorf("dropped by age %d, queue_full %d, want 0", s.Dropped("age"), s.Dropped("queue_full"))
	}
	if !strings.Contains(logs.String(), "reason=size") || !strings.Contains(logs.String(), "first_seq=1 ") {
		t.Errorf("the first drop does not log its reason and first seq:\n%.500s", logs.String())
	}
	// The room left is less than one result: the bound is tight.
	if b := s.Bytes(); b < maxBytes-400 {
		t.Errorf("Bytes() = %d, want close below %d", b, maxBytes)
	}
	held := s.Bytes()
	var used int64
	s.db.View(func(tx *bolt.Tx) error {
		used = tx.Size() - int64(s.db.Stats().FreePageN*s.db.Info().PageSize)
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "spool.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("max_bytes %d: held %d B by the size rule, pages in use %d B (%.2f×), file %d B (%.2f×: bbolt grows it in steps)",
		maxBytes, held, used, float64(used)/maxBytes, fi.Size(), float64(fi.Size())/maxBytes)
	if used > maxBytes*5/4 {
		t.Errorf("pages in use %d B, more than 1.25× max_bytes", used)
	}
	// Reopened, the size is counted again from what is held.
	s = openSpool(t, dir, Limits(Config{MaxBytes: maxBytes}))
	if s.Bytes() != held {
		t.Errorf("reopened Bytes() = %d, want %d", s.Bytes(), held)
	}
}

func TestSpoolAgeBound(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(start.UnixNano())
	clock := withClock(func() time.Time { return time.Unix(0, now.Load()).UTC() })
	limits := Limits(Config{MaxBytes: 1 << 30, MaxAge: time.Hour})
	quiet := Logger(discard)
	s := openSpool(t, dir, limits, clock, quiet)

	at := func(t0 time.Time, n int) []wire.Result { // n results, a minute apart from t0
		rs := results(n)
		for i := range rs {
			rs[i].Time = t0.Add(time.Duration(i) * time.Minute)
		}
		return rs
	}
	if _, err := s.Add(at(start, 90)...); err != nil { // 08:00..09:29
		t.Fatal(err)
	}
	if s.Dropped("age") != 0 {
		t.Fatalf("dropped %d fresh results", s.Dropped("age"))
	}
	if got := oldestAge(s.OldestTime(), start.Add(10*time.Minute)); got != 600 {
		t.Errorf("oldest age %v s, want 600", got)
	}
	now.Store(start.Add(100 * time.Minute).UnixNano()) // cutoff 08:40
	if _, err := s.Add(at(start.Add(100*time.Minute), 1)...); err != nil {
		t.Fatal(err)
	}
	if got := s.Dropped("age"); got != 40 || s.FirstSeq() != 41 {
		t.Errorf("dropped by age %d, FirstSeq %d; want 40 and 41", got, s.FirstSeq())
	}
	if !s.OldestTime().Equal(start.Add(40 * time.Minute)) {
		t.Errorf("OldestTime %v, want 08:40", s.OldestTime())
	}
	checkContiguous(t, s)
	s.Close()

	// A probe that was off for a day comes back bounded, at open.
	now.Store(start.Add(24 * time.Hour).UnixNano())
	s = openSpool(t, dir, limits, clock, quiet)
	if s.Len() != 0 || s.Dropped("age") != 51 || s.Bytes() != 0 || !s.OldestTime().IsZero() {
		t.Errorf("after a day: len %d, dropped %d, bytes %d, oldest %v; want all 51 dropped", s.Len(), s.Dropped("age"), s.Bytes(), s.OldestTime())
	}
	if seqs, _ := s.Add(results(1)...); !slices.Equal(seqs, []uint64{92}) {
		t.Errorf("seq after the drops %v, want 92: seqs are never reused", seqs)
	}
}

func TestSpoolOfferSyncAndClose(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir)
	for _, r := range results(300) {
		if err := s.Offer(r); err != nil {
			t.Fatal(err)
		}
	}
	s.Sync()
	if s.Len() != 300 || s.LastSeq() != 300 {
		t.Fatalf("after Sync: len %d, last %d; want 300", s.Len(), s.LastSeq())
	}
	checkContiguous(t, s)
	for _, r := range results(50) {
		s.Offer(r)
	}
	s.Close() // commits what is queued
	if err := s.Offer(results(1)[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Offer after Close: %v, want ErrClosed", err)
	}
	s.Sync() // returns at once on a closed spool
	s = openSpool(t, dir)
	if s.Len() != 350 {
		t.Errorf("after Close and reopen: %d results, want 350", s.Len())
	}
}

// TestSpoolGroupDelayGathersOneCommit: results offered within the group
// delay share one commit (one fsync), and Sync does not wait for the
// delay.
func TestSpoolGroupDelayGathersOneCommit(t *testing.T) {
	var commits atomic.Int32
	count := func(o *spoolOptions) { o.beforeCommit = func() { commits.Add(1) } }
	s := openSpool(t, t.TempDir(), GroupDelay(time.Hour), count)
	for _, r := range results(20) {
		if err := s.Offer(r); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	s.Sync()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Sync took %s: it waited for the group delay", took)
	}
	if s.Len() != 20 || commits.Load() != 1 {
		t.Errorf("after Sync: len %d in %d commits; want 20 in 1", s.Len(), commits.Load())
	}
	checkContiguous(t, s)
}
