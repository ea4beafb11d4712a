package spool

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jangkau/jangkau/internal/boltfile"
	"github.com/jangkau/jangkau/internal/boltfile/corrupttest"
)

const (
	recAdds  = 20
	recBatch = 300
	recTotal = recAdds * recBatch
)

// fillSpool adds recTotal results in recAdds commits and closes it.
func fillSpool(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(dir, Logger(discard))
	if err != nil {
		t.Fatal(err)
	}
	for range recAdds {
		if _, err := s.Add(results(recBatch)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// heldSeqs opens the spool in dir and returns the seqs it holds,
// failing on a seq held twice or never assigned, and checks that the
// next seq it assigns is above them all.
func heldSeqs(t *testing.T, dir string) map[uint64]bool {
	t.Helper()
	s, err := Open(dir, Logger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Take(math.MaxInt)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[uint64]bool{}
	var top uint64
	for _, r := range rs {
		if r.Seq < 1 || r.Seq > recTotal || seqs[r.Seq] {
			t.Errorf("unexpected result seq %d (held twice: %v)", r.Seq, seqs[r.Seq])
		}
		seqs[r.Seq] = true
		top = max(top, r.Seq)
	}
	if s.LastSeq() < top {
		t.Errorf("next seq would be %d, but seq %d is held: a seq would be handed out twice", s.LastSeq()+1, top)
	}
	return seqs
}

// TestCorruptSpool damages a closed spool four ways: Open must refuse it
// with an error naming the file and the salvage command (never a panic,
// never an empty spool), and salvage must recover every readable result.
func TestCorruptSpool(t *testing.T) {
	for _, tc := range corrupttest.Damages(string(bucketResults), `"check"`, recTotal) {
		t.Run(tc.Name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			fillSpool(t, dir)
			if n := len(heldSeqs(t, dir)); n != recTotal {
				t.Fatalf("before the damage the spool holds %d results, want %d", n, recTotal)
			}
			lost := tc.Damage(t, path)

			s, err := Open(dir, Logger(discard))
			if err == nil {
				s.Close()
				t.Fatal("Open accepted the damaged spool")
			}
			var corrupt *boltfile.CorruptError
			if !errors.As(err, &corrupt) {
				t.Fatalf("Open: %v, want a CorruptError", err)
			}
			for _, want := range []string{path, RecoveryCommand(dir), "jangkau spool check --dir " + dir} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open's error does not say %q:\n%v", want, err)
				}
			}
			if _, ok, err := Check(dir); err != nil || ok {
				t.Errorf("Check: ok %v, err %v; want a problem reported", ok, err)
			}

			rep, kept, err := Salvage(dir, "", true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(kept); err != nil {
				t.Errorf("the damaged file is not kept: %v", err)
			}
			got := heldSeqs(t, dir)
			if rep.ByBucket[string(bucketResults)] != len(got) {
				t.Errorf("salvage reports %d results, the spool holds %d", rep.ByBucket[string(bucketResults)], len(got))
			}
			corrupttest.CheckRecovered(t, len(got), recTotal, lost)
			t.Logf("salvaged %d of %d results (%d from unreachable pages); %d bad pages: %v", len(got), recTotal, rep.Orphans, rep.BadPages, rep.Bad)
		})
	}
}

// TestCleanCloseSkipsTheWalk: a spool closed by Close reopens without
// the page walk and holds every result; one left by a crash is walked.
func TestCleanCloseSkipsTheWalk(t *testing.T) {
	dir := t.TempDir()
	fillSpool(t, dir)
	s, err := Open(dir, Logger(discard))
	if err != nil {
		t.Fatal(err)
	}
	if op := s.known.Opened(); op.Walked || op.Pages > 2 {
		t.Errorf("after Close: %+v, want no walk", op)
	}
	crashed := corrupttest.Crash(t, dir, FileName, FileName+boltfile.KnownSuffix)
	s.Close()
	if n := len(heldSeqs(t, dir)); n != recTotal {
		t.Errorf("after a clean close the spool holds %d results, want %d", n, recTotal)
	}
	c, err := Open(crashed, Logger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if op := c.known.Opened(); !op.Walked || op.Pages < 10 {
		t.Errorf("after a crash: %+v, want every page walked", op)
	}
}
