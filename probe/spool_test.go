package probe

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func openSpool(t *testing.T, dir string) *Spool {
	t.Helper()
	s, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func results(n int) []Result {
	rs := make([]Result, n)
	for i := range rs {
		rs[i] = Result{Time: time.Date(2026, 11, 27, 8, 0, i, 0, time.UTC), Check: fmt.Sprintf("c%d", i), Kind: KindTCP, Target: "127.0.0.1:1", OK: i%2 == 0}
	}
	return rs
}

func seqsOf(rs []Result) []uint64 {
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
	s, err := OpenSpool(dir)
	if err == nil {
		s.Close()
		t.Fatal("second OpenSpool of an open spool succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another probe") {
		t.Errorf("error %q does not say the spool is in use", err)
	}
}

func TestSpoolClosed(t *testing.T) {
	s := openSpool(t, t.TempDir())
	s.Close()
	if _, err := s.Add(results(1)...); err != ErrSpoolClosed {
		t.Errorf("Add after Close: %v, want ErrSpoolClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
