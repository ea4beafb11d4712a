package probe

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jangkau/jangkau/probe/spool"
	"github.com/jangkau/jangkau/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// The shared ICMP sockets linger after the last run, as in a
	// probe between two runs; close them before looking for leaks.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// discard is the logger of tests that do not look at logs.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// openSpool opens a spool in dir that the test closes at its end.
func openSpool(t *testing.T, dir string, opts ...spool.Option) *spool.Spool {
	t.Helper()
	s, err := spool.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// results makes n distinct results, as a probe's checks would.
func results(n int) []wire.Result {
	rs := make([]wire.Result, n)
	for i := range rs {
		rs[i] = wire.Result{Time: time.Date(2026, 11, 27, 8, 0, i, 0, time.UTC), Check: fmt.Sprintf("c%d", i), Kind: wire.KindTCP, Target: "127.0.0.1:1", OK: i%2 == 0}
	}
	return rs
}

// checkContiguous asserts that the spool holds exactly FirstSeq..LastSeq
// (the spool's own tests have the same assertion).
func checkContiguous(t *testing.T, s *spool.Spool) {
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

// seqsOf lists the seqs of rs, in order.
func seqsOf(rs []wire.Result) []uint64 {
	var seqs []uint64
	for _, r := range rs {
		seqs = append(seqs, r.Seq)
	}
	return seqs
}
